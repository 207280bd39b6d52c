package gcpfake

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
)

// condition is one `field op value` term of a compute list filter.
type condition struct {
	field, op, value string
}

// parseFilter parses the subset of the compute filter language that
// clients use for labels: terms `field = value`, `!=`, `eq`/`ne` (RE2,
// whole value), `:` (has; `labels.k:*` for presence), optionally
// parenthesised and joined by whitespace or AND. OR is refused.
func parseFilter(s string) ([]condition, error) {
	toks, err := tokenize(s)
	if err != nil {
		return nil, err
	}
	var out []condition
	for i := 0; i < len(toks); {
		switch t := toks[i]; {
		case t == "(" || t == ")" || strings.EqualFold(t, "AND"):
			i++
			continue
		case strings.EqualFold(t, "OR") || strings.EqualFold(t, "NOT"):
			return nil, fmt.Errorf("Invalid list filter expression: %q (the fake supports AND of comparisons only)", s)
		}
		if i+2 >= len(toks) {
			return nil, fmt.Errorf("Invalid list filter expression: %q", s)
		}
		c := condition{field: toks[i], op: toks[i+1], value: unquote(toks[i+2])}
		switch c.op {
		case "=", "!=", ":", "eq", "ne":
		default:
			return nil, fmt.Errorf("Invalid list filter expression: %q: unknown operator %q", s, c.op)
		}
		if c.op == "eq" || c.op == "ne" {
			if _, err := regexp.Compile("^(?:" + c.value + ")$"); err != nil {
				return nil, fmt.Errorf("Invalid regular expression in filter %q: %v", s, err)
			}
		}
		out = append(out, c)
		i += 3
	}
	return out, nil
}

func tokenize(s string) ([]string, error) {
	var toks []string
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n':
			i++
		case c == '(' || c == ')':
			toks = append(toks, string(c))
			i++
		case c == '"' || c == '\'':
			j := strings.IndexByte(s[i+1:], c)
			if j < 0 {
				return nil, fmt.Errorf("Invalid list filter expression: unterminated string in %q", s)
			}
			toks = append(toks, s[i:i+j+2])
			i += j + 2
		case c == '=' || c == ':':
			toks = append(toks, string(c))
			i++
		case c == '!' && i+1 < len(s) && s[i+1] == '=':
			toks = append(toks, "!=")
			i += 2
		default:
			j := i
			for j < len(s) && !strings.ContainsRune(" \t\n()=:!\"'", rune(s[j])) {
				j++
			}
			if j == i {
				return nil, fmt.Errorf("Invalid list filter expression: unexpected %q in %q", c, s)
			}
			toks = append(toks, s[i:j])
			i = j
		}
	}
	return toks, nil
}

func unquote(v string) string {
	if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') && v[len(v)-1] == v[0] {
		return v[1 : len(v)-1]
	}
	return v
}

// matches evaluates the conditions against a resource's JSON form; a field
// path such as labels.team walks nested objects.
func matches(conds []condition, resource any) bool {
	if len(conds) == 0 {
		return true
	}
	b, _ := json.Marshal(resource)
	var m map[string]any
	json.Unmarshal(b, &m)
	for _, c := range conds {
		v, present := lookup(m, c.field)
		var ok bool
		switch c.op {
		case "=":
			ok = present && v == c.value
		case "!=":
			ok = !present || v != c.value
		case ":":
			ok = present && (c.value == "*" || strings.Contains(v, c.value))
		case "eq":
			ok = present && regexp.MustCompile("^(?:"+c.value+")$").MatchString(v)
		case "ne":
			ok = !present || !regexp.MustCompile("^(?:"+c.value+")$").MatchString(v)
		}
		if !ok {
			return false
		}
	}
	return true
}

func lookup(m map[string]any, field string) (string, bool) {
	var cur any = m
	for _, part := range strings.Split(field, ".") {
		obj, ok := cur.(map[string]any)
		if !ok {
			return "", false
		}
		if cur, ok = obj[part]; !ok {
			return "", false
		}
	}
	switch v := cur.(type) {
	case string:
		return v, true
	case bool, float64:
		return fmt.Sprint(v), true
	}
	return "", false
}
