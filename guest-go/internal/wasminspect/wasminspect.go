// Package wasminspect parses the WebAssembly binary format far enough to
// describe a module: its sections, imports, exports and custom sections
// (with the producers and name sections decoded), plus the entry counts of
// the index spaces.
//
// It never panics on any input: every read is bounds-checked, LEB128
// integers are checked for overflow and truncation, and every failure is an
// *Error with a stable code and the byte offset where parsing stopped:
//
//   - not_wasm: empty input or no "\0asm" magic;
//   - unsupported_version: a version other than 1;
//   - truncated: the input ends before the module does (a cut-off file);
//   - malformed: the bytes are there but wrong (bad LEB128, a section whose
//     content runs past its declared size, unknown ids or kinds, sections
//     out of order, inconsistent counts, names that are not UTF-8).
//
// Only what is cheap is decoded: imports, exports, the function section's
// type indices, start and datacount are parsed entirely; the other known
// sections only have their entry count read. Custom sections are never
// fatal beyond their name: a broken producers or name section is reported
// as absent (nil), because tooling metadata must not make a valid module
// unreadable.
package wasminspect

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"unicode/utf8"
)

// Error codes, stable for callers (the browser page switches on them).
const (
	CodeNotWasm            = "not_wasm"
	CodeUnsupportedVersion = "unsupported_version"
	CodeTruncated          = "truncated"
	CodeMalformed          = "malformed"
)

// Error is a typed parse failure.
type Error struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	// Offset is the byte offset in the input where the problem was found.
	Offset int `json:"offset"`
}

func (e *Error) Error() string {
	return fmt.Sprintf("%s at offset %d: %s", e.Code, e.Offset, e.Message)
}

func malformed(at int, format string, args ...any) *Error {
	return &Error{CodeMalformed, fmt.Sprintf(format, args...), at}
}

// Section is one section of the module.
type Section struct {
	ID byte `json:"id"`
	// Name is the section's name for ids 1..13, the custom section's own
	// name for id 0.
	Name string `json:"name"`
	// Offset is where the section (its id byte) starts in the module.
	Offset int `json:"offset"`
	// Size is the payload size, without the id byte and the size LEB128.
	Size int `json:"size"`
}

// Import is one import entry.
type Import struct {
	Module string `json:"module"`
	Name   string `json:"name"`
	Kind   string `json:"kind"`
}

// Export is one export entry.
type Export struct {
	Name  string `json:"name"`
	Kind  string `json:"kind"`
	Index uint32 `json:"index"`
}

// CustomSection is a custom section's name and payload size.
type CustomSection struct {
	Name string `json:"name"`
	Size int    `json:"size"`
}

// NameSection summarises the "name" custom section.
type NameSection struct {
	// Module is the module name subsection ("" when absent).
	Module string `json:"module"`
	// FunctionNames is the number of entries in the function names subsection.
	FunctionNames int `json:"function_names"`
}

// Counts holds entry counts of the index spaces and sections.
type Counts struct {
	Types     uint32 `json:"types"`
	Imports   int    `json:"imports"`
	Functions uint32 `json:"functions"` // defined functions (function section)
	Tables    uint32 `json:"tables"`
	Memories  uint32 `json:"memories"`
	Globals   uint32 `json:"globals"`
	Tags      uint32 `json:"tags"`
	Exports   int    `json:"exports"`
	Elements  uint32 `json:"elements"`
	Bodies    uint32 `json:"code_bodies"`
	Data      uint32 `json:"data_segments"`
	// ImportedFunctions counts imports of kind func (they come first in the
	// function index space).
	ImportedFunctions int `json:"imported_functions"`
	// Start is the start function's index, absent without a start section.
	Start *uint32 `json:"start,omitempty"`
}

// Report describes a module.
type Report struct {
	Size           int             `json:"size"`
	Version        uint32          `json:"version"`
	Sections       []Section       `json:"sections"`
	Imports        []Import        `json:"imports"`
	Exports        []Export        `json:"exports"`
	CustomSections []CustomSection `json:"custom_sections"`
	// Producers maps each field ("language", "processed-by", "sdk") to its
	// values, each "name version" (or "name" when the version is empty).
	// Nil without a (well-formed) producers section.
	Producers   map[string][]string `json:"producers"`
	NameSection *NameSection        `json:"name_section"`
	Counts      Counts              `json:"counts"`
}

// Section ids.
const (
	idCustom    = 0
	idType      = 1
	idImport    = 2
	idFunction  = 3
	idTable     = 4
	idMemory    = 5
	idGlobal    = 6
	idExport    = 7
	idStart     = 8
	idElement   = 9
	idCode      = 10
	idData      = 11
	idDataCount = 12
	idTag       = 13
)

var sectionNames = [...]string{
	idCustom: "custom", idType: "type", idImport: "import", idFunction: "function",
	idTable: "table", idMemory: "memory", idGlobal: "global", idExport: "export",
	idStart: "start", idElement: "element", idCode: "code", idData: "data",
	idDataCount: "datacount", idTag: "tag",
}

// sectionOrder is the position each known non-custom section must keep:
// the spec places tag between memory and global, datacount before code.
var sectionOrder = [...]int{
	idType: 1, idImport: 2, idFunction: 3, idTable: 4, idMemory: 5, idTag: 6,
	idGlobal: 7, idExport: 8, idStart: 9, idElement: 10, idDataCount: 11,
	idCode: 12, idData: 13,
}

// SectionName returns the name of a known section id ("custom" for 0), or
// "" for an unknown one.
func SectionName(id byte) string {
	if int(id) < len(sectionNames) {
		return sectionNames[id]
	}
	return ""
}

var kindNames = [...]string{0: "func", 1: "table", 2: "memory", 3: "global", 4: "tag"}

var magic = []byte{0x00, 'a', 's', 'm'}

// Inspect parses a module.
func Inspect(b []byte) (*Report, error) {
	if len(b) == 0 {
		return nil, &Error{CodeNotWasm, "empty input, not a WebAssembly module", 0}
	}
	if len(b) < 4 {
		if bytes.HasPrefix(magic, b) {
			return nil, &Error{CodeTruncated, "input ends inside the wasm magic number", len(b)}
		}
		return nil, &Error{CodeNotWasm, "not a WebAssembly module (no \\0asm magic)", 0}
	}
	if !bytes.Equal(b[:4], magic) {
		return nil, &Error{CodeNotWasm, "not a WebAssembly module (no \\0asm magic)", 0}
	}
	if len(b) < 8 {
		return nil, &Error{CodeTruncated, "input ends inside the version", len(b)}
	}
	version := binary.LittleEndian.Uint32(b[4:8])
	if version != 1 {
		return nil, &Error{CodeUnsupportedVersion, fmt.Sprintf("binary format version %d (only 1 is supported)", version), 4}
	}
	p := &parser{r: &Report{
		Size: len(b), Version: version, Sections: []Section{}, Imports: []Import{},
		Exports: []Export{}, CustomSections: []CustomSection{},
	}}
	rd := &reader{b: b, pos: 8, what: "module"}
	lastOrder := 0
	for rd.pos < len(b) {
		start := rd.pos
		id, err := rd.byte()
		if err != nil {
			return nil, err
		}
		size, err := rd.u32()
		if err != nil {
			return nil, err
		}
		payloadStart := rd.pos
		if int64(size) > int64(len(b)-payloadStart) {
			return nil, &Error{CodeTruncated, fmt.Sprintf("section %d (%s) declares %d bytes, only %d remain", id, SectionName(id), size, len(b)-payloadStart), start}
		}
		end := payloadStart + int(size)
		name := SectionName(id)
		switch {
		case name == "":
			return nil, malformed(start, "unknown section id %d", id)
		case id == idCustom:
			payload := &reader{b: b[:end], pos: payloadStart, what: "custom section", bounded: true}
			if name, err = p.custom(payload, int(size)); err != nil {
				return nil, err
			}
		default:
			if sectionOrder[id] <= lastOrder {
				return nil, malformed(start, "%s section is a duplicate or out of order", name)
			}
			lastOrder = sectionOrder[id]
			payload := &reader{b: b[:end], pos: payloadStart, what: name + " section", bounded: true}
			if err := p.known(id, payload); err != nil {
				return nil, err
			}
		}
		p.r.Sections = append(p.r.Sections, Section{ID: id, Name: name, Offset: start, Size: int(size)})
		rd.pos = end
	}
	if err := p.finish(len(b)); err != nil {
		return nil, err
	}
	return p.r, nil
}

type parser struct {
	r            *Report
	dataCount    *uint32
	sawCode      bool
	sawFunctions bool
}

// finish checks what can only be checked once every section is read.
func (p *parser) finish(end int) error {
	c := &p.r.Counts
	if (p.sawFunctions || p.sawCode) && c.Functions != c.Bodies {
		return malformed(end, "function section declares %d functions but code section has %d bodies", c.Functions, c.Bodies)
	}
	if p.dataCount != nil && *p.dataCount != c.Data {
		return malformed(end, "datacount section declares %d segments but data section has %d", *p.dataCount, c.Data)
	}
	return nil
}

func (p *parser) custom(payload *reader, size int) (string, error) {
	name, err := payload.name()
	if err != nil {
		return "", err
	}
	p.r.CustomSections = append(p.r.CustomSections, CustomSection{Name: name, Size: size})
	switch name {
	case "producers":
		p.r.Producers = parseProducers(payload)
	case "name":
		p.r.NameSection = parseNames(payload)
	}
	return name, nil
}

func (p *parser) known(id byte, s *reader) error {
	c := &p.r.Counts
	switch id {
	case idImport:
		n, err := s.u32()
		if err != nil {
			return err
		}
		for i := uint32(0); i < n; i++ {
			imp, err := s.importEntry()
			if err != nil {
				return err
			}
			if imp.Kind == "func" {
				c.ImportedFunctions++
			}
			p.r.Imports = append(p.r.Imports, imp)
		}
		c.Imports = len(p.r.Imports)
	case idFunction:
		n, err := s.u32()
		if err != nil {
			return err
		}
		for i := uint32(0); i < n; i++ {
			if _, err := s.u32(); err != nil {
				return err
			}
		}
		c.Functions, p.sawFunctions = n, true
	case idExport:
		n, err := s.u32()
		if err != nil {
			return err
		}
		for i := uint32(0); i < n; i++ {
			name, err := s.name()
			if err != nil {
				return err
			}
			at := s.pos
			kind, err := s.byte()
			if err != nil {
				return err
			}
			if int(kind) >= len(kindNames) {
				return malformed(at, "unknown export kind %d", kind)
			}
			index, err := s.u32()
			if err != nil {
				return err
			}
			p.r.Exports = append(p.r.Exports, Export{Name: name, Kind: kindNames[kind], Index: index})
		}
		c.Exports = len(p.r.Exports)
	case idStart:
		index, err := s.u32()
		if err != nil {
			return err
		}
		c.Start = &index
	case idDataCount:
		n, err := s.u32()
		if err != nil {
			return err
		}
		p.dataCount = &n
	default:
		// Only the entry count: decoding every body is not needed to
		// describe the module, and the code section is most of its bytes.
		n, err := s.u32()
		if err != nil {
			return err
		}
		switch id {
		case idType:
			c.Types = n
		case idTable:
			c.Tables = n
		case idMemory:
			c.Memories = n
		case idGlobal:
			c.Globals = n
		case idTag:
			c.Tags = n
		case idElement:
			c.Elements = n
		case idCode:
			c.Bodies, p.sawCode = n, true
		case idData:
			c.Data = n
		}
		return nil
	}
	if s.pos != len(s.b) {
		return malformed(s.pos, "%s has %d unexpected bytes at its end", s.what, len(s.b)-s.pos)
	}
	return nil
}

// parseProducers decodes the producers section; nil if it is malformed.
func parseProducers(p *reader) map[string][]string {
	out := map[string][]string{}
	fields, err := p.u32()
	if err != nil {
		return nil
	}
	for i := uint32(0); i < fields; i++ {
		field, err := p.name()
		if err != nil {
			return nil
		}
		values, err := p.u32()
		if err != nil {
			return nil
		}
		list := out[field]
		if list == nil {
			list = []string{}
		}
		for j := uint32(0); j < values; j++ {
			name, err := p.name()
			if err != nil {
				return nil
			}
			version, err := p.name()
			if err != nil {
				return nil
			}
			entry := name
			if version != "" {
				entry += " " + version
			}
			list = append(list, entry)
		}
		out[field] = list
	}
	if p.pos != len(p.b) {
		return nil
	}
	return out
}

// parseNames reads the module name and counts function names; nil if the
// subsection framing is malformed.
func parseNames(p *reader) *NameSection {
	ns := &NameSection{}
	for p.pos < len(p.b) {
		id, err := p.byte()
		if err != nil {
			return nil
		}
		size, err := p.u32()
		if err != nil || int64(size) > int64(len(p.b)-p.pos) {
			return nil
		}
		end := p.pos + int(size)
		sub := &reader{b: p.b[:end], pos: p.pos, what: "name subsection", bounded: true}
		switch id {
		case 0:
			if ns.Module, err = sub.name(); err != nil {
				return nil
			}
		case 1:
			n, err := sub.u32()
			if err != nil {
				return nil
			}
			ns.FunctionNames = int(n)
		}
		p.pos = end
	}
	return ns
}

// reader reads b[pos:]. b ends where the current section (or the module)
// ends; bounded readers are confined to a section, so running out of bytes
// there is malformed (content overruns its declared size), while the
// module-level reader running out means the input was cut off (truncated).
type reader struct {
	b       []byte
	pos     int
	what    string
	bounded bool
}

func (r *reader) eof(at int, need string) *Error {
	if r.bounded {
		return malformed(at, "%s ends inside %s", r.what, need)
	}
	return &Error{CodeTruncated, fmt.Sprintf("input ends inside %s (in %s)", need, r.what), at}
}

func (r *reader) byte() (byte, error) {
	if r.pos >= len(r.b) {
		return 0, r.eof(r.pos, "a byte")
	}
	v := r.b[r.pos]
	r.pos++
	return v, nil
}

// leb reads an unsigned LEB128 of at most bits bits (32 or 64).
func (r *reader) leb(bits uint) (uint64, error) {
	start := r.pos
	maxBytes := int((bits + 6) / 7)
	var v uint64
	for i := 0; ; i++ {
		if r.pos >= len(r.b) {
			return 0, r.eof(r.pos, "a LEB128 integer")
		}
		c := r.b[r.pos]
		r.pos++
		if i == maxBytes-1 {
			// The last byte may only carry the bits that remain.
			if c&0x80 != 0 {
				return 0, malformed(start, "LEB128 integer longer than %d bytes", maxBytes)
			}
			if unused := 7*uint(maxBytes) - bits; c>>(7-unused) != 0 {
				return 0, malformed(start, "LEB128 integer overflows u%d", bits)
			}
		}
		v |= uint64(c&0x7f) << (7 * uint(i))
		if c&0x80 == 0 {
			return v, nil
		}
	}
}

func (r *reader) u32() (uint32, error) {
	v, err := r.leb(32)
	return uint32(v), err
}

// s33 skips a signed 33-bit LEB128 (heap types, block types).
func (r *reader) s33() error {
	start := r.pos
	for i := 0; i < 5; i++ {
		c, err := r.byte()
		if err != nil {
			return err
		}
		if c&0x80 == 0 {
			return nil
		}
	}
	return malformed(start, "LEB128 integer longer than 5 bytes")
}

func (r *reader) name() (string, error) {
	start := r.pos
	n, err := r.u32()
	if err != nil {
		return "", err
	}
	if int64(n) > int64(len(r.b)-r.pos) {
		return "", r.eof(start, fmt.Sprintf("a name of %d bytes", n))
	}
	s := r.b[r.pos : r.pos+int(n)]
	r.pos += int(n)
	if !utf8.Valid(s) {
		return "", malformed(start, "name is not valid UTF-8")
	}
	return string(s), nil
}

// valType skips a value type, including the (ref null? ht) forms.
func (r *reader) valType() error {
	t, err := r.byte()
	if err != nil {
		return err
	}
	if t == 0x63 || t == 0x64 {
		return r.s33()
	}
	return nil
}

func (r *reader) importEntry() (Import, error) {
	module, err := r.name()
	if err != nil {
		return Import{}, err
	}
	name, err := r.name()
	if err != nil {
		return Import{}, err
	}
	at := r.pos
	kind, err := r.byte()
	if err != nil {
		return Import{}, err
	}
	// Skip the import's type so the next entry starts where it should.
	switch kind {
	case 0: // func: type index
		_, err = r.u32()
	case 1: // table: reftype + limits
		if err = r.valType(); err == nil {
			err = r.limits()
		}
	case 2: // memory: limits
		err = r.limits()
	case 3: // global: valtype + mutability
		if err = r.valType(); err == nil {
			_, err = r.byte()
		}
	case 4: // tag: attribute + type index
		if _, err = r.byte(); err == nil {
			_, err = r.u32()
		}
	default:
		return Import{}, malformed(at, "unknown import kind %d", kind)
	}
	if err != nil {
		return Import{}, err
	}
	return Import{Module: module, Name: name, Kind: kindNames[kind]}, nil
}

// limits skips table or memory limits: flags (1 = has max, 2 = shared,
// 4 = 64-bit, 8 = custom page size), min, optional max, optional page size.
func (r *reader) limits() error {
	at := r.pos
	flags, err := r.byte()
	if err != nil {
		return err
	}
	if flags > 0x0f {
		return malformed(at, "bad limits flags %#x", flags)
	}
	bits := uint(32)
	if flags&4 != 0 {
		bits = 64
	}
	if _, err := r.leb(bits); err != nil {
		return err
	}
	if flags&1 != 0 {
		if _, err := r.leb(bits); err != nil {
			return err
		}
	}
	if flags&8 != 0 {
		if _, err := r.u32(); err != nil {
			return err
		}
	}
	return nil
}
