package wire

import (
	"math"
	"reflect"
	"testing"

	"github.com/churnlab/churn/data"
	"github.com/churnlab/churn/predict"
)

func TestRoundTrip(t *testing.T) {
	nan := math.Float64frombits(0x7ff8_0000_dead_beef) // a NaN with a payload
	for _, tc := range []struct {
		name string
		in   any
		out  any
	}{
		{"history", &data.History{
			Customer: data.Customer{ID: "C1", SignupDate: data.MakeDate(2023, 1, 2), MRR: 99.5, Churned: -1, ContractEnd: data.NoDate,
				Attrs: []data.AttrValue{{Num: 3}, {Str: "x"}, {Null: true, Num: nan}}},
			Usage:    []data.Usage{{}, {}},
			Payments: nil,
			Present:  data.TableSet(0).With(data.Customers).With(data.UsageTable),
		}, &data.History{}},
		{"record", &predict.Record{
			CustomerID: "C2", Probability: 0.25, AnnualRevenue: nan, PAlive: math.Inf(-1),
			Reasons:     [predict.MaxReasons]predict.RecordReason{{Feature: "nps", Contribution: -0.5, Text: "low NPS"}},
			RuleNumbers: []float64{1, nan}, RuleStrings: []string{"", "a"},
		}, &predict.Record{}},
		{"empty record", &predict.Record{}, &predict.Record{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := Append([]byte("prefix"), tc.in)
			rest, err := Decode(append(b[len("prefix"):], "tail"...), tc.out)
			if err != nil {
				t.Fatal(err)
			}
			if string(rest) != "tail" {
				t.Errorf("rest %q, want tail", rest)
			}
			// Compare encodings: DeepEqual treats NaN as unequal to itself.
			if again := Append(nil, tc.out); string(again) != string(b[len("prefix"):]) {
				t.Errorf("decoded value encodes differently:\n%v\n%v", tc.in, tc.out)
			}
			if tc.name == "history" {
				h := tc.out.(*data.History)
				if !reflect.DeepEqual(h.Usage, []data.Usage{{}, {}}) || h.Payments != nil || math.Float64bits(h.Customer.Attrs[2].Num) != math.Float64bits(nan) {
					t.Errorf("decoded %+v", h)
				}
			}
		})
	}
}

// FuzzDecode: truncated or corrupt input is an error, never a panic or a
// huge allocation.
func FuzzDecode(f *testing.F) {
	f.Add(Append(nil, &predict.Record{CustomerID: "C1", RuleNumbers: []float64{1}}))
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Fuzz(func(t *testing.T, b []byte) {
		var r predict.Record
		Decode(b, &r)
		var h data.History
		Decode(b, &h)
	})
}
