// Package textutil holds small text helpers shared by the commands' error
// messages.
package textutil

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// EditDistance returns the Levenshtein distance between a and b, counted in
// bytes.
func EditDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// Closest returns the candidate nearest to s by edit distance when that
// distance is below limit, else "". Ties go to the earlier candidate.
func Closest(s string, candidates []string, limit int) string {
	best, bestD := "", limit
	for _, k := range candidates {
		if d := EditDistance(s, k); d < bestD {
			best, bestD = k, d
		}
	}
	return best
}

var (
	yamlLine  = regexp.MustCompile(`^(?:yaml: )?line (\d+): `)
	yamlValue = regexp.MustCompile("`[^`]*` ")
)

// YAMLError splits an error of gopkg.in/yaml.v3 into the line it names (0
// when none) and the message without the position, as "invalid YAML: …".
// Of several type errors it keeps the first. The file's values are never
// echoed (yaml.v3 quotes the start of a value it cannot convert): a path
// pointing at the wrong file, say a secrets file, must not print it.
func YAMLError(err error) (line int, msg error) {
	s := err.Error()
	var te *yaml.TypeError
	if errors.As(err, &te) && len(te.Errors) > 0 {
		s = te.Errors[0]
	}
	s = strings.TrimSpace(strings.TrimPrefix(s, "yaml: unmarshal errors:\n"))
	s = yamlValue.ReplaceAllString(s, "")
	if m := yamlLine.FindStringSubmatch(s); m != nil {
		line, _ = strconv.Atoi(m[1])
		s = s[len(m[0]):]
	}
	return line, fmt.Errorf("invalid YAML: %s", strings.TrimPrefix(s, "yaml: "))
}

// DecodeYAML decodes raw, the YAML content of the file named name, into v,
// refusing keys v does not have; an empty document leaves v as it is.
// Errors name the file and, when yaml.v3 gives one, the line
// ("name:3: invalid YAML: field x not found", see YAMLError).
func DecodeYAML(name string, raw []byte, v any) error {
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true)
	if err := dec.Decode(v); err != nil && !errors.Is(err, io.EOF) {
		line, msg := YAMLError(err)
		if line > 0 {
			return fmt.Errorf("%s:%d: %w", name, line, msg)
		}
		return fmt.Errorf("%s: %w", name, msg)
	}
	return nil
}

// ParseConfig decodes a config file's YAML raw (DecodeYAML) over the zero
// value, fills its defaults and validates it; errors name the file. It is
// every settings file's loader (eval's, review's).
func ParseConfig[T any, P interface {
	*T
	EnsureDefaults()
	Validate() error
}](name string, raw []byte) (T, error) {
	var c T
	if err := DecodeYAML(name, raw, &c); err != nil {
		return c, err
	}
	P(&c).EnsureDefaults()
	if err := P(&c).Validate(); err != nil {
		return c, fmt.Errorf("%s: %w", name, err)
	}
	return c, nil
}
