// Package wasminspect parses the WebAssembly binary format far enough to
// describe a module: its sections, imports, exports and custom sections
// (with the producers and name sections decoded). It never panics on any
// input: every read is bounds-checked and errors carry a code and offset.
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
	Offset  int    `json:"offset"`
}

func (e *Error) Error() string {
	return fmt.Sprintf("%s at offset %d: %s", e.Code, e.Offset, e.Message)
}

// Section is one section of the module.
type Section struct {
	ID     byte   `json:"id"`
	Name   string `json:"name"`
	Offset int    `json:"offset"`
	Size   int    `json:"size"`
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
	Module        string `json:"module"`
	FunctionNames int    `json:"function_names"`
}

// Counts holds entry counts of the index spaces.
type Counts struct {
	Types     uint32 `json:"types"`
	Imports   int    `json:"imports"`
	Functions uint32 `json:"functions"`
	Tables    uint32 `json:"tables"`
	Memories  uint32 `json:"memories"`
	Globals   uint32 `json:"globals"`
	Exports   int    `json:"exports"`
	Elements  uint32 `json:"elements"`
	Bodies    uint32 `json:"code_bodies"`
	Data      uint32 `json:"data_segments"`
}

// Report describes a module.
type Report struct {
	Size           int                 `json:"size"`
	Version        uint32              `json:"version"`
	Sections       []Section           `json:"sections"`
	Imports        []Import            `json:"imports"`
	Exports        []Export            `json:"exports"`
	CustomSections []CustomSection     `json:"custom_sections"`
	Producers      map[string][]string `json:"producers"`
	NameSection    *NameSection        `json:"name_section"`
	Counts         Counts              `json:"counts"`
}

var sectionNames = map[byte]string{
	1: "type", 2: "import", 3: "function", 4: "table", 5: "memory", 6: "global",
	7: "export", 8: "start", 9: "element", 10: "code", 11: "data", 12: "datacount", 13: "tag",
}

var kindNames = map[byte]string{0: "func", 1: "table", 2: "memory", 3: "global", 4: "tag"}

var magic = []byte{0x00, 'a', 's', 'm'}

// Inspect parses a module.
func Inspect(b []byte) (*Report, error) {
	if len(b) < 4 {
		if bytes.HasPrefix(magic, b) {
			return nil, &Error{CodeTruncated, "shorter than the wasm magic number", len(b)}
		}
		return nil, &Error{CodeNotWasm, "not a WebAssembly module (no \\0asm magic)", 0}
	}
	if !bytes.Equal(b[:4], magic) {
		return nil, &Error{CodeNotWasm, "not a WebAssembly module (no \\0asm magic)", 0}
	}
	if len(b) < 8 {
		return nil, &Error{CodeTruncated, "missing version", len(b)}
	}
	version := binary.LittleEndian.Uint32(b[4:8])
	if version != 1 {
		return nil, &Error{CodeUnsupportedVersion, fmt.Sprintf("version %d (only 1 is defined)", version), 4}
	}
	r := &Report{Size: len(b), Version: version, Sections: []Section{}, Imports: []Import{},
		Exports: []Export{}, CustomSections: []CustomSection{}}
	rd := &reader{b: b, pos: 8}
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
		if int(size) > len(b)-payloadStart {
			return nil, &Error{CodeTruncated, fmt.Sprintf("section %d claims %d bytes, %d remain", id, size, len(b)-payloadStart), start}
		}
		payload := &reader{b: b[:payloadStart+int(size)], pos: payloadStart}
		name, known := sectionNames[id]
		if id == 0 {
			cname, err := payload.name()
			if err != nil {
				return nil, err
			}
			name = cname
			r.CustomSections = append(r.CustomSections, CustomSection{Name: cname, Size: int(size)})
			switch cname {
			case "producers":
				r.Producers = parseProducers(payload)
			case "name":
				r.NameSection = parseNames(payload)
			}
		} else if !known {
			return nil, &Error{CodeMalformed, fmt.Sprintf("unknown section id %d", id), start}
		} else if err := parseKnown(id, payload, r); err != nil {
			return nil, err
		}
		r.Sections = append(r.Sections, Section{ID: id, Name: name, Offset: start, Size: int(size)})
		rd.pos = payloadStart + int(size)
	}
	return r, nil
}

func parseKnown(id byte, p *reader, r *Report) error {
	switch id {
	case 2:
		n, err := p.u32()
		if err != nil {
			return err
		}
		for i := uint32(0); i < n; i++ {
			imp, err := p.importEntry()
			if err != nil {
				return err
			}
			r.Imports = append(r.Imports, imp)
		}
		r.Counts.Imports = len(r.Imports)
	case 7:
		n, err := p.u32()
		if err != nil {
			return err
		}
		for i := uint32(0); i < n; i++ {
			name, err := p.name()
			if err != nil {
				return err
			}
			kind, err := p.byte()
			if err != nil {
				return err
			}
			index, err := p.u32()
			if err != nil {
				return err
			}
			r.Exports = append(r.Exports, Export{Name: name, Kind: kindName(kind), Index: index})
		}
		r.Counts.Exports = len(r.Exports)
	case 1, 3, 4, 5, 6, 9, 10, 11:
		// Only the entry count: decoding every body is not needed to describe the module.
		n, err := p.u32()
		if err != nil {
			return err
		}
		switch id {
		case 1:
			r.Counts.Types = n
		case 3:
			r.Counts.Functions = n
		case 4:
			r.Counts.Tables = n
		case 5:
			r.Counts.Memories = n
		case 6:
			r.Counts.Globals = n
		case 9:
			r.Counts.Elements = n
		case 10:
			r.Counts.Bodies = n
		case 11:
			r.Counts.Data = n
		}
	}
	return nil
}

func kindName(k byte) string {
	if n, ok := kindNames[k]; ok {
		return n
	}
	return fmt.Sprintf("unknown(%d)", k)
}

// parseProducers decodes the producers section; nil if it is malformed
// (a tooling section must not make a valid module unreadable).
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
			out[field] = append(out[field], entry)
		}
	}
	return out
}

// parseNames reads the module name and counts function names; nil if malformed.
func parseNames(p *reader) *NameSection {
	ns := &NameSection{}
	for p.pos < len(p.b) {
		id, err := p.byte()
		if err != nil {
			return nil
		}
		size, err := p.u32()
		if err != nil || int(size) > len(p.b)-p.pos {
			return nil
		}
		sub := &reader{b: p.b[:p.pos+int(size)], pos: p.pos}
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
		p.pos += int(size)
	}
	return ns
}

type reader struct {
	b   []byte
	pos int
}

func (r *reader) byte() (byte, error) {
	if r.pos >= len(r.b) {
		return 0, &Error{CodeTruncated, "unexpected end of data", r.pos}
	}
	v := r.b[r.pos]
	r.pos++
	return v, nil
}

// u32 reads an unsigned LEB128 of at most 5 bytes.
func (r *reader) u32() (uint32, error) {
	start := r.pos
	var v uint64
	for shift := uint(0); ; shift += 7 {
		if shift >= 35 {
			return 0, &Error{CodeMalformed, "LEB128 integer too long", start}
		}
		c, err := r.byte()
		if err != nil {
			return 0, err
		}
		v |= uint64(c&0x7f) << shift
		if c&0x80 == 0 {
			break
		}
	}
	if v > 0xffffffff {
		return 0, &Error{CodeMalformed, "LEB128 integer overflows u32", start}
	}
	return uint32(v), nil
}

func (r *reader) name() (string, error) {
	start := r.pos
	n, err := r.u32()
	if err != nil {
		return "", err
	}
	if int(n) > len(r.b)-r.pos {
		return "", &Error{CodeTruncated, fmt.Sprintf("name of %d bytes runs past the end", n), start}
	}
	s := r.b[r.pos : r.pos+int(n)]
	r.pos += int(n)
	if !utf8.Valid(s) {
		return "", &Error{CodeMalformed, "name is not UTF-8", start}
	}
	return string(s), nil
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
		if _, err = r.byte(); err == nil {
			err = r.limits()
		}
	case 2: // memory: limits
		err = r.limits()
	case 3: // global: valtype + mutability
		if _, err = r.byte(); err == nil {
			_, err = r.byte()
		}
	case 4: // tag: attribute + type index
		if _, err = r.byte(); err == nil {
			_, err = r.u32()
		}
	default:
		return Import{}, &Error{CodeMalformed, fmt.Sprintf("unknown import kind %d", kind), at}
	}
	if err != nil {
		return Import{}, err
	}
	return Import{Module: module, Name: name, Kind: kindName(kind)}, nil
}

func (r *reader) limits() error {
	at := r.pos
	flags, err := r.byte()
	if err != nil {
		return err
	}
	if flags > 7 {
		return &Error{CodeMalformed, fmt.Sprintf("bad limits flags %#x", flags), at}
	}
	// memory64 (flag 4) limits are u64; LEB128 reading as u32 would reject
	// large values, so read them as raw LEB bytes.
	readLimit := r.u32
	if flags&4 != 0 {
		readLimit = r.u64AsU32
	}
	if _, err := readLimit(); err != nil {
		return err
	}
	if flags&1 != 0 {
		if _, err := readLimit(); err != nil {
			return err
		}
	}
	return nil
}

func (r *reader) u64AsU32() (uint32, error) {
	start := r.pos
	for i := 0; i < 10; i++ {
		c, err := r.byte()
		if err != nil {
			return 0, err
		}
		if c&0x80 == 0 {
			return 0, nil
		}
	}
	return 0, &Error{CodeMalformed, "LEB128 integer too long", start}
}
