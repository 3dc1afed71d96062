package pipeline

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/churnlab/churn/beam/internal/wire"
	"github.com/churnlab/churn/data"
)

// appendRow encodes row r of cols (a features.Batch's columns).
func appendRow(b []byte, cols []data.Vec, r int) []byte {
	for i := range cols {
		v := &cols[i]
		switch v.Type {
		case data.TypeString:
			if v.IsNull(r) {
				b = append(b, 0)
				continue
			}
			s := v.Str(r)
			b = append(binary.AppendUvarint(append(b, 1), uint64(len(s))), s...)
		case data.TypeInt64, data.TypeTimestamp:
			b = binary.AppendVarint(b, v.Int(r))
		case data.TypeDate:
			b = binary.AppendVarint(b, int64(v.Date(r)))
		case data.TypeFloat64:
			b = binary.LittleEndian.AppendUint64(b, math.Float64bits(v.Float(r)))
		case data.TypeBool:
			b = append(b, byte(v.Bool(r)))
		default:
			panic(fmt.Sprintf("pipeline: column type %v", v.Type))
		}
	}
	return b
}

// decodeRow appends the row b (from appendRow) to cols and returns what
// follows it. The first column (customer_id) is appended without
// interning, as features.Builder does.
func decodeRow(b []byte, cols []data.Vec) ([]byte, error) {
	for i := range cols {
		v := &cols[i]
		switch v.Type {
		case data.TypeString:
			if len(b) == 0 {
				return nil, wire.ErrShort
			}
			if b[0] == 0 {
				v.AppendNull()
				b = b[1:]
				continue
			}
			n, k := binary.Uvarint(b[1:])
			if k <= 0 || uint64(len(b)-1-k) < n {
				return nil, wire.ErrShort
			}
			s := string(b[1+k : 1+k+int(n)])
			b = b[1+k+int(n):]
			if i == 0 {
				v.AppendUnique(s)
			} else {
				v.AppendString(s)
			}
		case data.TypeInt64, data.TypeTimestamp, data.TypeDate:
			x, k := binary.Varint(b)
			if k <= 0 {
				return nil, wire.ErrShort
			}
			b = b[k:]
			if v.Type == data.TypeDate {
				v.AppendDate(data.Date(x))
			} else {
				v.Ints = append(v.Ints, x)
			}
		case data.TypeFloat64:
			if len(b) < 8 {
				return nil, wire.ErrShort
			}
			v.AppendFloat(math.Float64frombits(binary.LittleEndian.Uint64(b)))
			b = b[8:]
		case data.TypeBool:
			if len(b) < 1 {
				return nil, wire.ErrShort
			}
			v.Bools = append(v.Bools, int8(b[0]))
			b = b[1:]
		default:
			return nil, fmt.Errorf("pipeline: column type %v", v.Type)
		}
	}
	return b, nil
}

// rowID returns the customer_id of an encoded row (its first column).
func rowID(b []byte) string {
	if len(b) < 2 || b[0] == 0 {
		return ""
	}
	n, k := binary.Uvarint(b[1:])
	if k <= 0 || uint64(len(b)-1-k) < n {
		return ""
	}
	return string(b[1+k : 1+k+int(n)])
}
