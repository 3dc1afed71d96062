package review

import (
	"fmt"
	"testing"

	"github.com/churnlab/churn/data"
)

// TestIDIndex checks numbering, lookups of known and unknown ids, and
// joining shards' indexes.
func TestIDIndex(t *testing.T) {
	var a, b idIndex
	for i := 0; i < 3000; i++ {
		id := fmt.Sprintf("C%06d", i)
		if i < 1000 {
			a.add(id)
		} else {
			b.add(id)
		}
	}
	var x idIndex
	x.append(&a)
	x.append(&idIndex{})
	x.append(&b)
	if err := x.index(); err != nil {
		t.Fatal(err)
	}
	if x.len() != 3000 {
		t.Fatalf("%d ids", x.len())
	}
	for i := 0; i < 3000; i++ {
		id := fmt.Sprintf("C%06d", i)
		if got := x.find(x.hashOf(id)); got != int32(i) || x.name(got) != id {
			t.Fatalf("find(%s) = %d (%q)", id, got, x.name(got))
		}
	}
	for _, id := range []string{"C999999", "", "c000001"} {
		if got := x.find(x.hashOf(id)); got != -1 {
			t.Errorf("find(%q) = %d, want -1", id, got)
		}
	}
}

// TestUnitTable checks that every (customer, play) finds its own slot as
// the table grows.
func TestUnitTable(t *testing.T) {
	var tb unitTable
	for i := 0; i < 5000; i++ {
		for play := int32(0); play < 3; play++ {
			sl := tb.slot(uint64(i)*0x9e3779b97f4a7c15, play)
			if sl.ui != 0 {
				t.Fatalf("(%d, %d) found before it was added", i, play)
			}
			*sl = unitSlot{h: uint64(i) * 0x9e3779b97f4a7c15, play: play, ui: int32(3*i + int(play) + 1), date: data.Date(i)}
			tb.n++
		}
	}
	for i := 0; i < 5000; i++ {
		for play := int32(0); play < 3; play++ {
			if sl := tb.slot(uint64(i)*0x9e3779b97f4a7c15, play); sl.ui != int32(3*i+int(play)+1) || sl.date != data.Date(i) {
				t.Fatalf("(%d, %d): slot %+v", i, play, *sl)
			}
		}
	}
}
