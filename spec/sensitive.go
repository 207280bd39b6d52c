package spec

import (
	"github.com/hashicorp/hcl/v2"
)

// refsSensitive reports whether any reference reaches a sensitive variable,
// directly or through a local value.
func (l *loader) refsSensitive(refs []hcl.Traversal) bool {
	for _, t := range refs {
		name, ok := stepName(t, 1)
		if !ok {
			if l.collectionSensitive(t.RootName()) {
				return true
			}
			continue
		}
		switch t.RootName() {
		case "var":
			if vd := l.varDecls[name]; vd != nil && vd.sensitive {
				return true
			}
		case "local":
			if l.sensitiveLocals[name] {
				return true
			}
		default:
			sens := l.resSensitive[t.RootName()+"."+name]
			if attr, ok := stepName(t, 2); ok {
				if sens[attr] {
					return true
				}
			} else if len(sens) > 0 {
				return true // the whole resource object
			}
		}
	}
	return false
}

// anySensitive reports whether anything decoded so far is sensitive; when
// nothing is, no reference needs a closer look.
func (l *loader) anySensitive() bool {
	return l.anySensitiveVar || len(l.sensitiveLocals) > 0 || len(l.sensitiveTypes) > 0
}

// collectionSensitive reports whether any member of a whole collection
// (var, local, or a resource type such as bucket) is sensitive.
func (l *loader) collectionSensitive(root string) bool {
	switch root {
	case "var":
		return l.anySensitiveVar
	case "local":
		return len(l.sensitiveLocals) > 0
	}
	return l.sensitiveTypes[root]
}

// recordSensitive remembers a decoded resource's sensitive attributes, so
// values copied from them by reference stay sensitive.
func (l *loader) recordSensitive(r *Resource) {
	if len(r.Sensitive) == 0 {
		return
	}
	l.resSensitive[r.Address()] = r.Sensitive
	l.sensitiveTypes[r.Type] = true
}
