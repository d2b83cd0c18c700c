package wasminspect

import (
	"errors"
	"math/rand"
	"testing"
)

// leb encodes v as unsigned LEB128.
func leb(v uint32) []byte {
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

func name(s string) []byte { return append(leb(uint32(len(s))), s...) }

func section(id byte, payload ...[]byte) []byte {
	var body []byte
	for _, p := range payload {
		body = append(body, p...)
	}
	return append(append([]byte{id}, leb(uint32(len(body)))...), body...)
}

func cat(parts ...[]byte) []byte {
	var out []byte
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

var header = []byte{0, 'a', 's', 'm', 1, 0, 0, 0}

// sample is a hand-assembled module: one type, an imported function and
// memory, one function exported as "add", a producers and a name section.
func sample() []byte {
	return cat(header,
		section(1, leb(1), []byte{0x60, 2, 0x7f, 0x7f, 1, 0x7f}),
		section(2, leb(2),
			name("env"), name("log"), []byte{0}, leb(0),
			name("env"), name("memory"), []byte{2, 1}, leb(1), leb(256)),
		section(3, leb(1), leb(0)),
		section(7, leb(2), name("add"), []byte{0}, leb(1), name("mem"), []byte{2}, leb(0)),
		section(10, leb(1), leb(7), []byte{0, 0x20, 0, 0x20, 1, 0x6a, 0x0b}),
		section(0, name("producers"), leb(1), name("language"), leb(1), name("Go"), name("1.27.3")),
		section(0, name("name"), []byte{0}, leb(5), name("demo"), []byte{1}, leb(6), leb(1), leb(1), name("add")),
	)
}

func TestInspectDescribesAHandAssembledModule(t *testing.T) {
	r, err := Inspect(sample())
	if err != nil {
		t.Fatal(err)
	}
	wantSections := []string{"type", "import", "function", "export", "code", "producers", "name"}
	if len(r.Sections) != len(wantSections) {
		t.Fatalf("sections = %+v", r.Sections)
	}
	for i, s := range r.Sections {
		if s.Name != wantSections[i] {
			t.Errorf("section %d = %q, want %q", i, s.Name, wantSections[i])
		}
	}
	if len(r.Imports) != 2 || r.Imports[0] != (Import{"env", "log", "func"}) || r.Imports[1] != (Import{"env", "memory", "memory"}) {
		t.Errorf("imports = %+v", r.Imports)
	}
	if len(r.Exports) != 2 || r.Exports[0] != (Export{"add", "func", 1}) || r.Exports[1] != (Export{"mem", "memory", 0}) {
		t.Errorf("exports = %+v", r.Exports)
	}
	if got := r.Producers["language"]; len(got) != 1 || got[0] != "Go 1.27.3" {
		t.Errorf("producers = %+v", r.Producers)
	}
	if r.NameSection == nil || r.NameSection.Module != "demo" || r.NameSection.FunctionNames != 1 {
		t.Errorf("name section = %+v", r.NameSection)
	}
	if r.Counts.Functions != 1 || r.Counts.Bodies != 1 || r.Counts.Types != 1 {
		t.Errorf("counts = %+v", r.Counts)
	}
	if r.Size != len(sample()) {
		t.Errorf("size = %d", r.Size)
	}
}

func TestSectionSizesAddUpToTheModule(t *testing.T) {
	b := sample()
	r, err := Inspect(b)
	if err != nil {
		t.Fatal(err)
	}
	total := 8
	for _, s := range r.Sections {
		total += 1 + len(leb(uint32(s.Size))) + s.Size
	}
	if total != len(b) {
		t.Errorf("sections cover %d bytes, module has %d", total, len(b))
	}
}

func TestEmptyModuleHasNoSections(t *testing.T) {
	r, err := Inspect(header)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Sections) != 0 || len(r.Imports) != 0 {
		t.Errorf("report = %+v", r)
	}
}

func code(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

func TestTypedErrors(t *testing.T) {
	for _, tc := range []struct {
		name  string
		input []byte
		code  string
	}{
		{"text file", []byte("<!DOCTYPE html>"), CodeNotWasm},
		{"empty", nil, CodeTruncated},
		{"magic only", header[:4], CodeTruncated},
		{"version 2", []byte{0, 'a', 's', 'm', 2, 0, 0, 0}, CodeUnsupportedVersion},
		{"section past end", cat(header, []byte{1, 100, 0}), CodeTruncated},
		{"unknown section", cat(header, section(42, []byte{0})), CodeMalformed},
		{"overlong LEB128", cat(header, []byte{1, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01}), CodeMalformed},
		{"LEB128 overflow", cat(header, []byte{1, 0xff, 0xff, 0xff, 0xff, 0x7f}), CodeMalformed},
		{"bad import kind", cat(header, section(2, leb(1), name("a"), name("b"), []byte{9})), CodeMalformed},
		{"invalid UTF-8 name", cat(header, section(7, leb(1), []byte{1, 0xff}, []byte{0}, leb(0))), CodeMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Inspect(tc.input)
			if got := code(err); got != tc.code {
				t.Errorf("code = %q (%v), want %q", got, err, tc.code)
			}
		})
	}
}

func TestEveryTruncationIsATypedErrorNotAPanic(t *testing.T) {
	b := sample()
	full, err := Inspect(b)
	if err != nil {
		t.Fatal(err)
	}
	// Cut exactly between sections, the prefix is itself a valid module.
	boundary := map[int]bool{8: true}
	for _, s := range full.Sections {
		boundary[s.Offset] = true
	}
	for n := 0; n < len(b); n++ {
		_, err := Inspect(b[:n])
		if boundary[n] {
			if err != nil {
				t.Errorf("cut at section boundary %d: %v", n, err)
			}
			continue
		}
		if code(err) == "" {
			t.Errorf("truncated to %d bytes: err = %v, want a typed error", n, err)
		}
	}
}

func TestRandomBytesNeverPanic(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	base := sample()
	for i := 0; i < 20000; i++ {
		b := append([]byte(nil), base...)
		for j := 0; j < 1+rng.Intn(4); j++ {
			b[8+rng.Intn(len(b)-8)] = byte(rng.Intn(256))
		}
		_, _ = Inspect(b)
		noise := make([]byte, rng.Intn(64))
		rng.Read(noise)
		_, _ = Inspect(append(append([]byte(nil), header...), noise...))
	}
}

func FuzzInspect(f *testing.F) {
	f.Add(sample())
	f.Add(header)
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := Inspect(b)
		if err == nil && r.Size != len(b) {
			t.Errorf("size %d for %d bytes", r.Size, len(b))
		}
		if err != nil && code(err) == "" {
			t.Errorf("untyped error %v", err)
		}
	})
}
