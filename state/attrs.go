package state

// Attrs are a resource's attributes under the spec's names. Values are
// string, int64, bool, []string or map[string]string; read back from JSON
// (state files, saved plans) they may also be json.Number, float64, []any
// or map[string]any. The readers accept both, so every provider reads an
// attribute the same way whatever its source.
type Attrs map[string]any

// String returns a string attribute, or "".
func (a Attrs) String(name string) string {
	s, _ := a[name].(string)
	return s
}

// Int returns a number attribute; ok is false when it is absent or not a number.
func (a Attrs) Int(name string) (n int64, ok bool) {
	n, ok = NormalizeValue(a[name]).(int64)
	return n, ok
}

// Bool returns a bool attribute, or false.
func (a Attrs) Bool(name string) bool {
	b, _ := a[name].(bool)
	return b
}

// StringList returns a list attribute, or nil.
func (a Attrs) StringList(name string) []string {
	l, _ := NormalizeValue(a[name]).([]string)
	return l
}

// StringMap returns a map attribute, or nil.
func (a Attrs) StringMap(name string) map[string]string {
	m, _ := NormalizeValue(a[name]).(map[string]string)
	return m
}

// Has reports whether the attribute is set (even to a zero value).
func (a Attrs) Has(name string) bool {
	_, ok := a[name]
	return ok
}

// Clone returns a copy of the map (values are shared: they are never
// changed in place).
func (a Attrs) Clone() Attrs {
	if a == nil {
		return nil
	}
	out := make(Attrs, len(a))
	for k, v := range a {
		out[k] = v
	}
	return out
}
