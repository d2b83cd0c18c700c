package wasminspect

import (
	"encoding/json"
	"errors"
	"math/rand"
	"reflect"
	"strings"
	"testing"
)

// Fixtures are assembled here, byte by byte; no binaries are committed.

// leb encodes v as unsigned LEB128.
func leb(v uint64) []byte {
	var out []byte
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if v != 0 {
			out = append(out, c|0x80)
			continue
		}
		return append(out, c)
	}
}

func name(s string) []byte { return append(leb(uint64(len(s))), s...) }

func cat(parts ...[]byte) []byte {
	var out []byte
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

func section(id byte, payload ...[]byte) []byte {
	body := cat(payload...)
	return cat([]byte{id}, leb(uint64(len(body))), body)
}

func custom(n string, payload ...[]byte) []byte {
	return section(0, append([][]byte{name(n)}, payload...)...)
}

func module(sections ...[]byte) []byte { return cat(append([][]byte{header}, sections...)...) }

var header = []byte{0, 'a', 's', 'm', 1, 0, 0, 0}

func producers(fields ...[]byte) []byte {
	return custom("producers", append([][]byte{leb(uint64(len(fields)))}, fields...)...)
}

func field(n string, values ...[2]string) []byte {
	out := cat(name(n), leb(uint64(len(values))))
	for _, v := range values {
		out = cat(out, name(v[0]), name(v[1]))
	}
	return out
}

// sample is a hand-assembled module: one type, an imported function and
// memory, one defined function exported as "add" (index 1, after the
// import), a producers and a name section.
func sample() []byte {
	return module(
		section(1, leb(1), []byte{0x60, 2, 0x7f, 0x7f, 1, 0x7f}),
		section(2, leb(2),
			name("env"), name("log"), []byte{0}, leb(0),
			name("env"), name("memory"), []byte{2, 1}, leb(1), leb(256)),
		section(3, leb(1), leb(0)),
		section(7, leb(2), name("add"), []byte{0}, leb(1), name("mem"), []byte{2}, leb(0)),
		section(10, leb(1), leb(7), []byte{0, 0x20, 0, 0x20, 1, 0x6a, 0x0b}),
		producers(field("language", [2]string{"Go", "1.27.3"})),
		custom("name", []byte{0}, leb(5), name("demo"), []byte{1}, leb(6), leb(1), leb(1), name("add")),
	)
}

// everySection has one section of each id 1..13, in the order the spec
// requires (tag between memory and global, datacount before code).
func everySection() []byte {
	return module(
		section(1, leb(1), []byte{0x60, 0, 0}),                      // type: () -> ()
		section(2, leb(1), name("m"), name("f"), []byte{0}, leb(0)), // import func
		section(3, leb(1), leb(0)),                                  // function
		section(4, leb(1), []byte{0x70, 0}, leb(1)),                 // table funcref min 1
		section(5, leb(1), []byte{0}, leb(1)),                       // memory min 1
		section(13, leb(1), []byte{0}, leb(0)),                      // tag
		section(6, leb(1), []byte{0x7f, 0, 0x41, 0, 0x0b}),          // global i32 const 0
		section(7, leb(1), name("main"), []byte{0}, leb(1)),         // export func 1
		section(8, leb(1)),                                          // start func 1
		section(9, leb(0)),                                          // element
		section(12, leb(1)),                                         // datacount
		section(10, leb(1), leb(2), []byte{0, 0x0b}),                // code
		section(11, leb(1), []byte{1}, name("hi")),                  // data (passive)
	)
}

func code(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

func offset(err error) int {
	var e *Error
	if errors.As(err, &e) {
		return e.Offset
	}
	return -1
}

func TestInspectDescribesAHandAssembledModule(t *testing.T) {
	b := sample()
	r, err := Inspect(b)
	if err != nil {
		t.Fatal(err)
	}
	wantSections := []Section{
		{1, "type", 8, 7},
		{2, "import", 17, 27},
		{3, "function", 46, 2},
		{7, "export", 50, 13},
		{10, "code", 65, 9},
		{0, "producers", 76, 31},
		{0, "name", 109, 20},
	}
	if !reflect.DeepEqual(r.Sections, wantSections) {
		t.Errorf("sections =\n%+v\nwant\n%+v", r.Sections, wantSections)
	}
	wantImports := []Import{{"env", "log", "func"}, {"env", "memory", "memory"}}
	if !reflect.DeepEqual(r.Imports, wantImports) {
		t.Errorf("imports = %+v", r.Imports)
	}
	wantExports := []Export{{"add", "func", 1}, {"mem", "memory", 0}}
	if !reflect.DeepEqual(r.Exports, wantExports) {
		t.Errorf("exports = %+v", r.Exports)
	}
	wantCustom := []CustomSection{{"producers", 31}, {"name", 20}}
	if !reflect.DeepEqual(r.CustomSections, wantCustom) {
		t.Errorf("custom sections = %+v", r.CustomSections)
	}
	if want := map[string][]string{"language": {"Go 1.27.3"}}; !reflect.DeepEqual(r.Producers, want) {
		t.Errorf("producers = %+v", r.Producers)
	}
	if r.NameSection == nil || *r.NameSection != (NameSection{"demo", 1}) {
		t.Errorf("name section = %+v", r.NameSection)
	}
	wantCounts := Counts{Types: 1, Imports: 2, Functions: 1, Exports: 2, Bodies: 1, ImportedFunctions: 1}
	if !reflect.DeepEqual(r.Counts, wantCounts) {
		t.Errorf("counts = %+v, want %+v", r.Counts, wantCounts)
	}
	if r.Size != len(b) || r.Version != 1 {
		t.Errorf("size = %d, version = %d", r.Size, r.Version)
	}
}

func TestEverySectionIDIsNamedAndCounted(t *testing.T) {
	r, err := Inspect(everySection())
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, s := range r.Sections {
		if SectionName(s.ID) != s.Name {
			t.Errorf("section %d named %q", s.ID, s.Name)
		}
		got = append(got, s.Name)
	}
	want := "type import function table memory tag global export start element datacount code data"
	if strings.Join(got, " ") != want {
		t.Errorf("sections = %s\nwant        %s", strings.Join(got, " "), want)
	}
	start := uint32(1)
	wantCounts := Counts{
		Types: 1, Imports: 1, Functions: 1, Tables: 1, Memories: 1, Globals: 1, Tags: 1,
		Exports: 1, Elements: 0, Bodies: 1, Data: 1, ImportedFunctions: 1, Start: &start,
	}
	if !reflect.DeepEqual(r.Counts, wantCounts) {
		t.Errorf("counts = %+v, want %+v", r.Counts, wantCounts)
	}
	if r.Producers != nil || r.NameSection != nil || len(r.CustomSections) != 0 {
		t.Errorf("no custom sections expected: %+v", r)
	}
}

func TestSectionName(t *testing.T) {
	for id, want := range map[byte]string{
		0: "custom", 1: "type", 2: "import", 3: "function", 4: "table", 5: "memory", 6: "global",
		7: "export", 8: "start", 9: "element", 10: "code", 11: "data", 12: "datacount", 13: "tag",
		14: "", 255: "",
	} {
		if got := SectionName(id); got != want {
			t.Errorf("SectionName(%d) = %q, want %q", id, got, want)
		}
	}
}

func TestSectionsCoverTheWholeModule(t *testing.T) {
	for _, b := range [][]byte{sample(), everySection()} {
		r, err := Inspect(b)
		if err != nil {
			t.Fatal(err)
		}
		at := 8
		for _, s := range r.Sections {
			if s.Offset != at {
				t.Errorf("section %q at %d, want %d", s.Name, s.Offset, at)
			}
			at = s.Offset + 1 + len(leb(uint64(s.Size))) + s.Size
		}
		if at != len(b) {
			t.Errorf("sections cover %d bytes, module has %d", at, len(b))
		}
	}
}

func TestEmptyModuleHasNoSections(t *testing.T) {
	r, err := Inspect(header)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Sections) != 0 || len(r.Imports) != 0 || len(r.Exports) != 0 || r.Producers != nil || r.NameSection != nil {
		t.Errorf("report = %+v", r)
	}
}

func TestLEB128(t *testing.T) {
	for _, tc := range []struct {
		name  string
		bits  uint
		input []byte
		want  uint64
		code  string // "" for success
		pos   int    // reader position after a successful read
	}{
		{"zero", 32, []byte{0}, 0, "", 1},
		{"127", 32, []byte{0x7f}, 127, "", 1},
		{"128", 32, []byte{0x80, 0x01}, 128, "", 2},
		{"624485", 32, []byte{0xe5, 0x8e, 0x26}, 624485, "", 3},
		{"u32 max", 32, []byte{0xff, 0xff, 0xff, 0xff, 0x0f}, 0xffffffff, "", 5},
		{"padded zero", 32, []byte{0x80, 0x80, 0x80, 0x80, 0x00}, 0, "", 5},
		{"stops at its end", 32, []byte{0x05, 0xff}, 5, "", 1},
		{"u32 overflow", 32, []byte{0xff, 0xff, 0xff, 0xff, 0x1f}, 0, CodeMalformed, 0},
		{"u32 unused bits set", 32, []byte{0x80, 0x80, 0x80, 0x80, 0x70}, 0, CodeMalformed, 0},
		{"u32 six bytes", 32, []byte{0x80, 0x80, 0x80, 0x80, 0x80, 0x00}, 0, CodeMalformed, 0},
		{"empty", 32, nil, 0, CodeTruncated, 0},
		{"ends in continuation", 32, []byte{0x80}, 0, CodeTruncated, 0},
		{"ends after four", 32, []byte{0xff, 0xff, 0xff, 0xff}, 0, CodeTruncated, 0},
		{"u64 max", 64, cat(bytesOf(0xff, 9), []byte{0x01}), 1<<64 - 1, "", 10},
		{"u64 2^32", 64, leb(1 << 32), 1 << 32, "", 5},
		{"u64 overflow", 64, cat(bytesOf(0xff, 9), []byte{0x02}), 0, CodeMalformed, 0},
		{"u64 eleven bytes", 64, cat(bytesOf(0x80, 10), []byte{0x00}), 0, CodeMalformed, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &reader{b: tc.input, what: "test"}
			got, err := r.leb(tc.bits)
			if code(err) != tc.code {
				t.Fatalf("err = %v, want code %q", err, tc.code)
			}
			if tc.code == "" && (got != tc.want || r.pos != tc.pos) {
				t.Errorf("got %d at pos %d, want %d at %d", got, r.pos, tc.want, tc.pos)
			}
		})
	}
	// Every u32 round-trips through the encoder the fixtures use.
	rng := rand.New(rand.NewSource(2))
	for i := 0; i < 1000; i++ {
		v := uint64(rng.Uint32())
		r := &reader{b: leb(v)}
		if got, err := r.u32(); err != nil || uint64(got) != v {
			t.Fatalf("u32(leb(%d)) = %d, %v", v, got, err)
		}
	}
}

func bytesOf(b byte, n int) []byte {
	out := make([]byte, n)
	for i := range out {
		out[i] = b
	}
	return out
}

func TestLEB128InsideASectionIsMalformedNotTruncated(t *testing.T) {
	r := &reader{b: []byte{0x80}, what: "type section", bounded: true}
	if _, err := r.u32(); code(err) != CodeMalformed || !strings.Contains(err.Error(), "type section ends inside") {
		t.Errorf("err = %v", err)
	}
}

func TestImportKinds(t *testing.T) {
	for _, tc := range []struct {
		name string
		desc []byte
		kind string
	}{
		{"func", cat([]byte{0}, leb(3)), "func"},
		{"table funcref min", []byte{1, 0x70, 0, 1}, "table"},
		{"table externref min max", []byte{1, 0x6f, 1, 1, 10}, "table"},
		{"table (ref null func)", []byte{1, 0x63, 0x70, 0, 0}, "table"},
		{"table64", cat([]byte{1, 0x70, 5}, leb(1<<40), leb(1<<41)), "table"},
		{"memory min", []byte{2, 0, 1}, "memory"},
		{"memory min max", cat([]byte{2, 1, 1}, leb(65536)), "memory"},
		{"memory shared", []byte{2, 3, 1, 2}, "memory"},
		{"memory64", cat([]byte{2, 5}, leb(1<<40), leb(1<<48)), "memory"},
		{"memory custom page size", []byte{2, 8, 1, 0}, "memory"},
		{"global i32 const", []byte{3, 0x7f, 0}, "global"},
		{"global f64 mut", []byte{3, 0x7c, 1}, "global"},
		{"global (ref $t)", cat([]byte{3, 0x64}, leb(300), []byte{0}), "global"},
		{"tag", []byte{4, 0, 0}, "tag"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// Two entries: the second parses only if the first was skipped exactly.
			b := module(section(2, leb(2),
				name("m"), name("a"), tc.desc,
				name("m"), name("b"), []byte{0}, leb(0)))
			r, err := Inspect(b)
			if err != nil {
				t.Fatal(err)
			}
			want := []Import{{"m", "a", tc.kind}, {"m", "b", "func"}}
			if !reflect.DeepEqual(r.Imports, want) {
				t.Errorf("imports = %+v", r.Imports)
			}
		})
	}
}

func TestExportKinds(t *testing.T) {
	b := module(section(7, leb(5),
		name("f"), []byte{0}, leb(1),
		name("t"), []byte{1}, leb(0),
		name("m"), []byte{2}, leb(0),
		name("g"), []byte{3}, leb(200),
		name("e"), []byte{4}, leb(0)))
	r, err := Inspect(b)
	if err != nil {
		t.Fatal(err)
	}
	want := []Export{{"f", "func", 1}, {"t", "table", 0}, {"m", "memory", 0}, {"g", "global", 200}, {"e", "tag", 0}}
	if !reflect.DeepEqual(r.Exports, want) {
		t.Errorf("exports = %+v", r.Exports)
	}
	if r.Counts.Exports != 5 {
		t.Errorf("counts = %+v", r.Counts)
	}
}

func TestProducers(t *testing.T) {
	for _, tc := range []struct {
		name    string
		section []byte
		want    map[string][]string
	}{
		{"go", producers(
			field("language", [2]string{"Go", "go1.27.3"}),
			field("processed-by", [2]string{"Go cmd/compile", "go1.27.3"})),
			map[string][]string{"language": {"Go go1.27.3"}, "processed-by": {"Go cmd/compile go1.27.3"}}},
		{"rust, empty version, several tools", producers(
			field("language", [2]string{"Rust", ""}),
			field("processed-by", [2]string{"rustc", "1.95.0"}, [2]string{"wasm-bindgen", "0.2.130"}),
			field("sdk", [2]string{"emscripten", "3.1"})),
			map[string][]string{"language": {"Rust"}, "processed-by": {"rustc 1.95.0", "wasm-bindgen 0.2.130"}, "sdk": {"emscripten 3.1"}}},
		{"no fields", producers(), map[string][]string{}},
		{"field with no values", producers(field("language")), map[string][]string{"language": {}}},
		{"repeated field merges", producers(
			field("language", [2]string{"C", ""}), field("language", [2]string{"Rust", ""})),
			map[string][]string{"language": {"C", "Rust"}}},
		{"value runs past the section", custom("producers", leb(1), name("language"), leb(1), name("Go")), nil},
		{"field count too high", custom("producers", leb(3), field("language", [2]string{"Go", ""})), nil},
		{"trailing bytes", custom("producers", leb(0), []byte{0}), nil},
		{"empty payload", custom("producers"), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := Inspect(module(tc.section))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(r.Producers, tc.want) {
				t.Errorf("producers = %#v, want %#v", r.Producers, tc.want)
			}
			if len(r.CustomSections) != 1 || r.CustomSections[0].Name != "producers" {
				t.Errorf("custom sections = %+v", r.CustomSections)
			}
		})
	}
}

func TestNameSection(t *testing.T) {
	funcs := func(names ...string) []byte {
		body := leb(uint64(len(names)))
		for i, n := range names {
			body = cat(body, leb(uint64(i)), name(n))
		}
		return cat([]byte{1}, leb(uint64(len(body))), body)
	}
	for _, tc := range []struct {
		name    string
		payload [][]byte
		want    *NameSection
	}{
		{"module and functions", [][]byte{{0}, leb(5), name("demo"), funcs("a", "b", "c")}, &NameSection{"demo", 3}},
		{"functions only", [][]byte{funcs("main")}, &NameSection{"", 1}},
		{"module only", [][]byte{{0}, leb(4), name("app")}, &NameSection{"app", 0}},
		{"empty", nil, &NameSection{}},
		{"locals subsection skipped", [][]byte{{0}, leb(2), name("m"), funcs("f"), {2, 3, 1, 0, 0}}, &NameSection{"m", 1}},
		{"subsection past the end", [][]byte{{1}, leb(50), leb(1)}, nil},
		{"module name past its subsection", [][]byte{{0}, leb(2), name("long")}, nil},
		{"bad subsection size", [][]byte{{1, 0x80}}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := Inspect(module(custom("name", tc.payload...)))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(r.NameSection, tc.want) {
				t.Errorf("name section = %+v, want %+v", r.NameSection, tc.want)
			}
		})
	}
}

func TestTypedErrors(t *testing.T) {
	for _, tc := range []struct {
		name   string
		input  []byte
		code   string
		offset int
		msg    string // a substring of the message
	}{
		{"empty", nil, CodeNotWasm, 0, "empty"},
		{"text file", []byte("<!DOCTYPE html>"), CodeNotWasm, 0, "magic"},
		{"short non-wasm", []byte("GIF"), CodeNotWasm, 0, "magic"},
		{"wasm text format", []byte("(module)"), CodeNotWasm, 0, "magic"},
		{"magic prefix", header[:2], CodeTruncated, 2, "magic"},
		{"magic only", header[:4], CodeTruncated, 4, "version"},
		{"half a version", header[:6], CodeTruncated, 6, "version"},
		{"version 2", []byte{0, 'a', 's', 'm', 2, 0, 0, 0}, CodeUnsupportedVersion, 4, "version 2"},
		{"component model layer", []byte{0, 'a', 's', 'm', 0x0d, 0, 1, 0}, CodeUnsupportedVersion, 4, "65549"},
		{"section size missing", module([]byte{1}), CodeTruncated, 9, "LEB128"},
		{"section size cut", module([]byte{1, 0x80}), CodeTruncated, 10, "LEB128"},
		{"section past end", module([]byte{1, 100, 0}), CodeTruncated, 8, "declares 100 bytes, only 1 remain"},
		{"huge section size", module([]byte{1, 0xff, 0xff, 0xff, 0xff, 0x0f}), CodeTruncated, 8, "declares 4294967295"},
		{"unknown section", module(section(14, []byte{0})), CodeMalformed, 8, "unknown section id 14"},
		{"unknown section 255", module(section(255)), CodeMalformed, 8, "unknown section id 255"},
		{"overlong LEB128", module([]byte{1, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01}), CodeMalformed, 9, "longer than 5"},
		{"LEB128 overflow", module([]byte{1, 0xff, 0xff, 0xff, 0xff, 0x7f}), CodeMalformed, 9, "overflows u32"},
		{"duplicate section", module(section(1, leb(0)), section(1, leb(0))), CodeMalformed, 11, "type section is a duplicate or out of order"},
		{"out of order", module(section(7, leb(0)), section(2, leb(0))), CodeMalformed, 11, "import section"},
		{"datacount after code", module(section(10, leb(0)), section(12, leb(0))), CodeMalformed, 11, "datacount"},
		{"tag after global", module(section(6, leb(0)), section(13, leb(0))), CodeMalformed, 11, "tag"},
		{"custom name past section", module(section(0, leb(10), []byte("ab"))), CodeMalformed, 10, "custom section ends inside a name of 10 bytes"},
		{"empty custom section", module(section(0)), CodeMalformed, 10, "custom section ends inside"},
		{"custom name not UTF-8", module(section(0, []byte{2, 0xc3, 0x28})), CodeMalformed, 10, "UTF-8"},
		{"bad import kind", module(section(2, leb(1), name("a"), name("b"), []byte{9})), CodeMalformed, 15, "unknown import kind 9"},
		{"import count too high", module(section(2, leb(2), name("a"), name("b"), []byte{0}, leb(0))), CodeMalformed, 17, "import section ends inside"},
		{"import runs into next section", module(section(2, leb(1), name("a"), name("b"), []byte{0}), section(3, leb(0))), CodeMalformed, 16, "import section ends inside"},
		{"bad limits flags", module(section(2, leb(1), name("a"), name("b"), []byte{2, 0x10, 0})), CodeMalformed, 16, "limits flags"},
		{"memory64 limit too long", module(section(2, leb(1), name("a"), name("b"), []byte{2, 4}, bytesOf(0x80, 10), []byte{0})), CodeMalformed, 17, "longer than 10"},
		{"import trailing bytes", module(section(2, leb(0), []byte{0})), CodeMalformed, 11, "1 unexpected bytes"},
		{"bad export kind", module(section(7, leb(1), name("x"), []byte{5}, leb(0))), CodeMalformed, 13, "unknown export kind 5"},
		{"export name not UTF-8", module(section(7, leb(1), []byte{1, 0xff}, []byte{0}, leb(0))), CodeMalformed, 11, "UTF-8"},
		{"export index overflow", module(section(7, leb(1), name("x"), []byte{0}, []byte{0xff, 0xff, 0xff, 0xff, 0x10})), CodeMalformed, 14, "overflows"},
		{"function without code", module(section(3, leb(1), leb(0))), CodeMalformed, 12, "1 functions but code section has 0"},
		{"code without function", module(section(10, leb(1), leb(2), []byte{0, 0x0b})), CodeMalformed, 14, "0 functions but code section has 1"},
		{"datacount mismatch", module(section(12, leb(2)), section(11, leb(1), []byte{1}, name(""))), CodeMalformed, 16, "datacount section declares 2"},
		{"start without index", module(section(8)), CodeMalformed, 10, "start section ends inside"},
		{"start trailing bytes", module(section(8, leb(0), leb(0))), CodeMalformed, 11, "unexpected bytes"},
		{"function section trailing bytes", module(section(3, leb(0), []byte{7}), section(10, leb(0))), CodeMalformed, 11, "function section"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := Inspect(tc.input)
			if r != nil {
				t.Errorf("report %+v alongside error", r)
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("err = %v (%T), want *Error", err, err)
			}
			if e.Code != tc.code || e.Offset != tc.offset || !strings.Contains(e.Message, tc.msg) {
				t.Errorf("got %s at %d: %q\nwant %s at %d: ...%q...", e.Code, e.Offset, e.Message, tc.code, tc.offset, tc.msg)
			}
			if !strings.HasPrefix(err.Error(), tc.code+" at offset ") {
				t.Errorf("Error() = %q", err.Error())
			}
		})
	}
}

func TestEveryTruncationIsATypedErrorNotAPanic(t *testing.T) {
	for _, b := range [][]byte{sample(), everySection()} {
		full, err := Inspect(b)
		if err != nil {
			t.Fatal(err)
		}
		boundary := map[int]bool{8: true}
		for _, s := range full.Sections {
			boundary[s.Offset] = true
		}
		for n := 0; n < len(b); n++ {
			r, err := Inspect(b[:n])
			switch {
			case n == 0:
				if code(err) != CodeNotWasm {
					t.Errorf("empty: %v", err)
				}
			case boundary[n]:
				// A cut between sections is a well-framed module; it is only
				// malformed if it separates the function section from the code
				// section or the datacount section from the data section.
				if err != nil && code(err) != CodeMalformed {
					t.Errorf("cut at section boundary %d: %v", n, err)
				}
				if err == nil && r.Size != n {
					t.Errorf("cut at %d: size %d", n, r.Size)
				}
			default:
				if code(err) != CodeTruncated || offset(err) < 0 || offset(err) > n {
					t.Errorf("truncated to %d bytes: err = %v, want truncated within the input", n, err)
				}
			}
		}
	}
}

func TestRandomBytesNeverPanic(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	bases := [][]byte{sample(), everySection()}
	check := func(b []byte) {
		r, err := Inspect(b)
		switch {
		case err == nil && (r == nil || r.Size != len(b)):
			t.Fatalf("%x: report %+v", b, r)
		case err != nil && (code(err) == "" || offset(err) < 0 || offset(err) > len(b)):
			t.Fatalf("%x: err = %v", b, err)
		}
	}
	for i := 0; i < 20000; i++ {
		base := bases[i%len(bases)]
		b := append([]byte(nil), base...)
		for j := 0; j < 1+rng.Intn(4); j++ {
			b[8+rng.Intn(len(b)-8)] = byte(rng.Intn(256))
		}
		check(b)
		check(b[:rng.Intn(len(b)+1)])
		noise := make([]byte, rng.Intn(64))
		rng.Read(noise)
		check(append(append([]byte(nil), header...), noise...))
		check(noise)
	}
}

func TestJSONShape(t *testing.T) {
	r, err := Inspect(module(section(1, leb(0))))
	if err != nil {
		t.Fatal(err)
	}
	out, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"size":11,"version":1,"sections":[{"id":1,"name":"type","offset":8,"size":1}],` +
		`"imports":[],"exports":[],"custom_sections":[],"producers":null,"name_section":null,` +
		`"counts":{"types":0,"imports":0,"functions":0,"tables":0,"memories":0,"globals":0,"tags":0,` +
		`"exports":0,"elements":0,"code_bodies":0,"data_segments":0,"imported_functions":0}}`
	if string(out) != want {
		t.Errorf("json =\n%s\nwant\n%s", out, want)
	}
	_, err = Inspect([]byte("nope"))
	out, _ = json.Marshal(err)
	if want := `{"code":"not_wasm","message":"not a WebAssembly module (no \\0asm magic)","offset":0}`; string(out) != want {
		t.Errorf("error json = %s", out)
	}
}

func FuzzInspect(f *testing.F) {
	f.Add(sample())
	f.Add(everySection())
	f.Add(header)
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := Inspect(b)
		if err == nil && r.Size != len(b) {
			t.Errorf("size %d for %d bytes", r.Size, len(b))
		}
		if err != nil && (code(err) == "" || offset(err) < 0 || offset(err) > len(b)) {
			t.Errorf("bad error %v", err)
		}
	})
}
