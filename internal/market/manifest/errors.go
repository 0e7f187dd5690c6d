package manifest

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
)

// maxErrors bounds how many problems one parse reports; past it the
// parser stops looking, so a pathological file costs little.
const maxErrors = 50

// FieldError is one problem in a manifest file. Error() is the field path
// and what is wrong and expected, e.g.
// `profiles.compute.web.resources.memory.size: "12Q": want a quantity like 512Mi or 4Gi`.
// Parsers return several of them joined with errors.Join; FieldErrors
// takes them apart again.
type FieldError struct {
	Path string `json:"path"`           // dotted field path; list items as [i]
	Line int    `json:"line,omitempty"` // 1-based line in the file, 0 when unknown
	Msg  string `json:"message"`
}

func (e *FieldError) Error() string {
	if e.Path == "" {
		return e.Msg
	}
	return e.Path + ": " + e.Msg
}

// Warning is something a parser accepted but the tenant should look at:
// an ignored unknown key, a price denom read as udeai, a selector the
// market cannot express.
type Warning struct {
	Path string `json:"path"`
	Line int    `json:"line,omitempty"`
	Msg  string `json:"message"`
}

func (w Warning) String() string {
	if w.Path == "" {
		return w.Msg
	}
	return w.Path + ": " + w.Msg
}

// FieldErrors returns the field errors inside err (as joined by a parser),
// in order; an error that is not a FieldError becomes one without a path.
func FieldErrors(err error) []*FieldError {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []*FieldError
		for _, e := range j.Unwrap() {
			out = append(out, FieldErrors(e)...)
		}
		return out
	}
	var fe *FieldError
	if errors.As(err, &fe) {
		return []*FieldError{fe}
	}
	return []*FieldError{{Msg: err.Error()}}
}

// problems collects the errors and warnings of one parse.
type problems struct {
	errs  []*FieldError
	warns []Warning
}

func (p *problems) errorf(line int, path, format string, args ...any) {
	if len(p.errs) < maxErrors {
		p.errs = append(p.errs, &FieldError{Path: path, Line: line, Msg: fmt.Sprintf(format, args...)})
	}
}

func (p *problems) warnf(line int, path, format string, args ...any) {
	if len(p.warns) < maxErrors {
		p.warns = append(p.warns, Warning{Path: path, Line: line, Msg: fmt.Sprintf(format, args...)})
	}
}

// sortByLine orders the problems as they appear in the file (stable;
// those without a line last), so that output reads top to bottom.
func (p *problems) sortByLine() {
	key := func(l int) int {
		if l == 0 {
			return int(^uint(0) >> 1)
		}
		return l
	}
	slices.SortStableFunc(p.errs, func(a, b *FieldError) int { return cmp.Compare(key(a.Line), key(b.Line)) })
	slices.SortStableFunc(p.warns, func(a, b Warning) int { return cmp.Compare(key(a.Line), key(b.Line)) })
}

// full reports whether enough errors were found to stop.
func (p *problems) full() bool { return len(p.errs) >= maxErrors }

// err joins the collected errors, nil when there are none.
func (p *problems) err() error {
	if len(p.errs) == 0 {
		return nil
	}
	errs := make([]error, len(p.errs))
	for i, e := range p.errs {
		errs[i] = e
	}
	return errors.Join(errs...)
}
