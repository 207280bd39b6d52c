package spec

import (
	"fmt"
	"math/big"

	"github.com/zclconf/go-cty/cty"
)

// GoValue converts a known cty value of the given attribute type to Go.
func GoValue(v cty.Value, t AttrType) (any, error) {
	switch t {
	case TypeString:
		return v.AsString(), nil
	case TypeNumber:
		bf := v.AsBigFloat()
		if !bf.IsInt() {
			return nil, fmt.Errorf("a whole number is required, got %s", bf.Text('g', -1))
		}
		n, acc := bf.Int64()
		if acc != big.Exact {
			return nil, fmt.Errorf("number out of range")
		}
		return n, nil
	case TypeBool:
		return v.True(), nil
	case TypeStringList:
		out := []string{}
		for it := v.ElementIterator(); it.Next(); {
			_, e := it.Element()
			if e.IsNull() {
				return nil, fmt.Errorf("list elements must not be null")
			}
			out = append(out, e.AsString())
		}
		return out, nil
	case TypeStringMap:
		out := map[string]string{}
		for it := v.ElementIterator(); it.Next(); {
			k, e := it.Element()
			if e.IsNull() {
				return nil, fmt.Errorf("map values must not be null")
			}
			out[k.AsString()] = e.AsString()
		}
		return out, nil
	}
	return nil, fmt.Errorf("unsupported type")
}

// CtyValue converts a Go attribute value back to cty (for references).
func CtyValue(v any, t AttrType) cty.Value {
	if v == nil {
		return cty.NullVal(t.CtyType())
	}
	switch x := v.(type) {
	case string:
		return cty.StringVal(x)
	case int64:
		return cty.NumberIntVal(x)
	case bool:
		return cty.BoolVal(x)
	case []string:
		if len(x) == 0 {
			return cty.ListValEmpty(cty.String)
		}
		vals := make([]cty.Value, len(x))
		for i, s := range x {
			vals[i] = cty.StringVal(s)
		}
		return cty.ListVal(vals)
	case map[string]string:
		if len(x) == 0 {
			return cty.MapValEmpty(cty.String)
		}
		vals := map[string]cty.Value{}
		for k, s := range x {
			vals[k] = cty.StringVal(s)
		}
		return cty.MapVal(vals)
	}
	return cty.NullVal(t.CtyType())
}

func resourceValue(r *Resource) cty.Value {
	s := SchemaFor(r.Type)
	attrs := map[string]cty.Value{"address": cty.StringVal(r.Address())}
	for _, a := range s.Attrs {
		attrs[a.Name] = CtyValue(r.Attrs[a.Name], a.Type)
	}
	return cty.ObjectVal(attrs)
}
