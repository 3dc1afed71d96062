package data

import (
	"os"
	"path/filepath"
	"testing"
)

// writeTable writes a contract table file from per-column values built by fn.
func writeTable(t testing.TB, path string, specs []ColumnSpec, n int, cols []Vec, opt WriterOptions) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := CreateAtomic(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Abort()
	w, err := NewWriter(f, specs, opt)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(n, cols); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.Commit(); err != nil {
		t.Fatal(err)
	}
}

func strVec(xs ...string) Vec {
	v := NewVec(TypeString)
	for _, x := range xs {
		if x == "<null>" {
			v.AppendNull()
		} else {
			v.AppendString(x)
		}
	}
	return v
}

func dateVec(t testing.TB, xs ...string) Vec {
	v := NewVec(TypeDate)
	for _, x := range xs {
		if x == "" {
			v.AppendNull()
			continue
		}
		d, err := ParseDate(x)
		if err != nil {
			t.Fatal(err)
		}
		v.AppendDate(d)
	}
	return v
}

func intVec(xs ...int64) Vec {
	v := NewVec(TypeInt64)
	for _, x := range xs {
		v.AppendInt(x)
	}
	return v
}

func floatVec(xs ...float64) Vec {
	v := NewVec(TypeFloat64)
	for _, x := range xs {
		v.AppendFloat(x)
	}
	return v
}
