package data

import (
	"errors"
	"fmt"
	"testing"
)

// TestShardOf pins the customer hash: these values must never change (see
// ShardOf).
func TestShardOf(t *testing.T) {
	for _, c := range []struct {
		id   string
		n    int
		want int
	}{
		{"", 1, 0}, {"", 2, 0}, {"", 3, 2}, {"", 7, 1}, {"", 1000, 342},
		{"c1", 2, 1}, {"c1", 3, 1}, {"c1", 7, 2}, {"c1", 1000, 435},
		{"C000001", 2, 0}, {"C000001", 3, 2}, {"C000001", 7, 6}, {"C000001", 1000, 630},
		{"C000002", 3, 1}, {"C000002", 1000, 464},
		{"cust-42", 7, 2}, {"cust-42", 1000, 686},
		{"é", 2, 1}, {"é", 7, 4}, {"é", 1000, 43},
		{"0001234567", 3, 2}, {"0001234567", 1000, 908},
	} {
		if got := ShardOf(c.id, c.n); got != c.want {
			t.Errorf("ShardOf(%q, %d) = %d, want %d", c.id, c.n, got, c.want)
		}
	}
}

// TestShardOfSpread checks that sequential ids spread evenly (within 5 %, over 3 standard deviations
// of the mean) over shards, odd and even counts alike.
func TestShardOfSpread(t *testing.T) {
	const ids = 60000
	for _, n := range []int{2, 3, 4, 16} {
		count := make([]int, n)
		for i := 0; i < ids; i++ {
			count[ShardOf(fmt.Sprintf("C%06d", i), n)]++
		}
		mean := ids / n
		for s, c := range count {
			if c < mean*95/100 || c > mean*105/100 {
				t.Errorf("n=%d: shard %d has %d ids, mean %d", n, s, c, mean)
			}
		}
	}
}

func TestParseShard(t *testing.T) {
	for _, c := range []struct {
		in   string
		want Shard
		ok   bool
	}{
		{"0/1", Shard{0, 1}, true},
		{"2/3", Shard{2, 3}, true},
		{"3/3", Shard{}, false},
		{"-1/3", Shard{}, false},
		{"0/0", Shard{}, false},
		{"1", Shard{}, false},
		{"a/b", Shard{}, false},
		{" 1/3", Shard{}, false},
		{"1/3/4", Shard{}, false},
		{"", Shard{}, false},
	} {
		got, err := ParseShard(c.in)
		if c.ok != (err == nil) || got != c.want {
			t.Errorf("ParseShard(%q) = %v, %v; want %v, ok %v", c.in, got, err, c.want, c.ok)
		}
		if err != nil && !errors.Is(err, ErrBadShard) {
			t.Errorf("ParseShard(%q): error %v does not wrap ErrBadShard", c.in, err)
		}
		if err == nil && got.String() != c.in {
			t.Errorf("String() = %q, want %q", got.String(), c.in)
		}
	}
}
