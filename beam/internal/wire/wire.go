// Package wire encodes the plain Go values churn-beam sends between
// workers — pieces of customer histories (data.History) and prediction
// records (predict.Record) — in a compact binary form: fields in
// declaration order, integers as varints, floats as their IEEE bits (NaN
// payloads kept), strings and slices length-prefixed. Both ends are the
// same binary, so no schema travels with a value.
//
// It handles structs of bools, integers, floats, strings, and slices and
// arrays of those (nested freely); unexported fields are skipped. Encode
// and Decode are safe for concurrent use.
package wire

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"reflect"
	"sync"
)

// ErrShort is returned by Decode for input that ends inside a value.
var ErrShort = errors.New("wire: truncated value")

type codec struct {
	enc func(b []byte, v reflect.Value) []byte
	dec func(d *decoder, v reflect.Value)
}

var codecs sync.Map // reflect.Type → *codec

// Append appends the encoding of *p to b. p must be a pointer to a value
// of a supported type.
func Append(b []byte, p any) []byte {
	v := reflect.ValueOf(p).Elem()
	return codecOf(v.Type()).enc(b, v)
}

// Decode decodes b, made by Append, into *p (a pointer to a value of the
// same type), overwriting it; strings and slices are freshly allocated.
// It returns the bytes after the value.
func Decode(b []byte, p any) (rest []byte, err error) {
	v := reflect.ValueOf(p).Elem()
	d := &decoder{b: b}
	codecOf(v.Type()).dec(d, v)
	if d.err != nil {
		return nil, d.err
	}
	return d.b, nil
}

type decoder struct {
	b   []byte
	err error
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	x, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.err = ErrShort
		return 0
	}
	d.b = d.b[n:]
	return x
}

func (d *decoder) varint() int64 {
	if d.err != nil {
		return 0
	}
	x, n := binary.Varint(d.b)
	if n <= 0 {
		d.err = ErrShort
		return 0
	}
	d.b = d.b[n:]
	return x
}

func (d *decoder) fixed(n int) []byte {
	if d.err != nil {
		return nil
	}
	if len(d.b) < n {
		d.err = ErrShort
		return nil
	}
	out := d.b[:n]
	d.b = d.b[n:]
	return out
}

// length reads a length prefix, refusing one longer than the input could
// hold (each element takes at least one byte).
func (d *decoder) length() int {
	n := d.uvarint()
	if d.err == nil && n > uint64(len(d.b)) {
		d.err = fmt.Errorf("wire: length %d exceeds the %d bytes left", n, len(d.b))
		return 0
	}
	return int(n)
}

func codecOf(t reflect.Type) *codec {
	if c, ok := codecs.Load(t); ok {
		return c.(*codec)
	}
	c := build(t)
	codecs.Store(t, c)
	return c
}

func build(t reflect.Type) *codec {
	switch t.Kind() {
	case reflect.Bool:
		return &codec{
			enc: func(b []byte, v reflect.Value) []byte {
				if v.Bool() {
					return append(b, 1)
				}
				return append(b, 0)
			},
			dec: func(d *decoder, v reflect.Value) {
				if x := d.fixed(1); x != nil {
					v.SetBool(x[0] != 0)
				}
			},
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return &codec{
			enc: func(b []byte, v reflect.Value) []byte { return binary.AppendVarint(b, v.Int()) },
			dec: func(d *decoder, v reflect.Value) { v.SetInt(d.varint()) },
		}
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return &codec{
			enc: func(b []byte, v reflect.Value) []byte { return binary.AppendUvarint(b, v.Uint()) },
			dec: func(d *decoder, v reflect.Value) { v.SetUint(d.uvarint()) },
		}
	case reflect.Float32:
		return &codec{
			enc: func(b []byte, v reflect.Value) []byte {
				return binary.LittleEndian.AppendUint32(b, math.Float32bits(float32(v.Float())))
			},
			dec: func(d *decoder, v reflect.Value) {
				if x := d.fixed(4); x != nil {
					v.SetFloat(float64(math.Float32frombits(binary.LittleEndian.Uint32(x))))
				}
			},
		}
	case reflect.Float64:
		return &codec{
			enc: func(b []byte, v reflect.Value) []byte {
				return binary.LittleEndian.AppendUint64(b, math.Float64bits(v.Float()))
			},
			dec: func(d *decoder, v reflect.Value) {
				if x := d.fixed(8); x != nil {
					v.SetFloat(math.Float64frombits(binary.LittleEndian.Uint64(x)))
				}
			},
		}
	case reflect.String:
		return &codec{
			enc: func(b []byte, v reflect.Value) []byte {
				s := v.String()
				return append(binary.AppendUvarint(b, uint64(len(s))), s...)
			},
			dec: func(d *decoder, v reflect.Value) {
				n := d.length()
				if x := d.fixed(n); d.err == nil {
					v.SetString(string(x))
				}
			},
		}
	case reflect.Slice:
		return sliceCodec(t)
	case reflect.Array:
		return arrayCodec(t)
	case reflect.Struct:
		return structCodec(t)
	}
	panic(fmt.Sprintf("wire: unsupported type %s", t))
}

func sliceCodec(t reflect.Type) *codec {
	var elem *codec
	once := sync.OnceFunc(func() { elem = codecOf(t.Elem()) })
	return &codec{
		enc: func(b []byte, v reflect.Value) []byte {
			once()
			n := v.Len()
			b = binary.AppendUvarint(b, uint64(n))
			for i := 0; i < n; i++ {
				b = elem.enc(b, v.Index(i))
			}
			return b
		},
		dec: func(d *decoder, v reflect.Value) {
			once()
			n := d.length()
			if d.err != nil {
				return
			}
			if n == 0 {
				v.SetZero()
				return
			}
			s := reflect.MakeSlice(t, n, n)
			for i := 0; i < n && d.err == nil; i++ {
				elem.dec(d, s.Index(i))
			}
			v.Set(s)
		},
	}
}

func arrayCodec(t reflect.Type) *codec {
	var elem *codec
	once := sync.OnceFunc(func() { elem = codecOf(t.Elem()) })
	n := t.Len()
	return &codec{
		enc: func(b []byte, v reflect.Value) []byte {
			once()
			for i := 0; i < n; i++ {
				b = elem.enc(b, v.Index(i))
			}
			return b
		},
		dec: func(d *decoder, v reflect.Value) {
			once()
			for i := 0; i < n && d.err == nil; i++ {
				elem.dec(d, v.Index(i))
			}
		},
	}
}

func structCodec(t reflect.Type) *codec {
	var fields []int
	for i := 0; i < t.NumField(); i++ {
		if t.Field(i).IsExported() {
			fields = append(fields, i)
		}
	}
	var sub []*codec
	once := sync.OnceFunc(func() {
		for _, i := range fields {
			sub = append(sub, codecOf(t.Field(i).Type))
		}
	})
	return &codec{
		enc: func(b []byte, v reflect.Value) []byte {
			once()
			for k, i := range fields {
				b = sub[k].enc(b, v.Field(i))
			}
			return b
		},
		dec: func(d *decoder, v reflect.Value) {
			once()
			for k, i := range fields {
				if d.err != nil {
					return
				}
				sub[k].dec(d, v.Field(i))
			}
		},
	}
}
