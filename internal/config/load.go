package config

import (
	"bytes"
	"errors"
	"io"
	"os"
	"reflect"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Load reads the YAML file at path and returns it decoded, with defaults
// applied, secrets resolved from the process environment, and validated,
// with the extra checks of h when given (see ValidateWith).
// A non-nil error lists every problem found; the Config is then nil.
func Load(path string, h ...Hooks) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err // *PathError already names the file
	}
	return Parse(data, os.LookupEnv, h...)
}

// Parse is Load without the file: it decodes data, rejecting unknown keys,
// applies defaults, resolves *_env secrets through lookupEnv and validates.
//
// Unknown keys, bad durations and values of the wrong type do not stop
// the checks (a typo, a bad type and a duplicate tenant are reported
// together); problems about the zero a wrong-typed value leaves behind are
// dropped, since they would only mislead. A wrong type whose key path
// cannot be told (inside a one-line flow mapping) and syntax errors stop
// the checks.
func Parse(data []byte, lookupEnv func(string) (string, bool), h ...Hooks) (*Config, error) {
	var hooks Hooks
	if len(h) > 0 {
		hooks = h[0]
	}
	c, soft, typed, err := decode(data)
	if err != nil {
		return nil, err
	}
	c.ApplyDefaults()
	resolveErr := dropUnder(c.Resolve(lookupEnv), typed)
	validateErr := dropUnder(c.ValidateWith(hooks), typed)
	if err := errors.Join(soft, validateErr, resolveErr); err != nil {
		return nil, err
	}
	return c, nil
}

// dropUnder removes from err the problems about the key paths in typed or
// below them: a value of the wrong type was reported already, and the zero
// it left behind must not be judged as if the user had written it.
func dropUnder(err error, typed []string) error {
	if err == nil || len(typed) == 0 {
		return err
	}
	var all []error
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		all = j.Unwrap()
	} else {
		all = []error{err}
	}
	var keep []error
	for _, e := range all {
		var fe *FieldError
		if errors.As(e, &fe) && underAny(fe.Path, typed) {
			continue
		}
		keep = append(keep, e)
	}
	return errors.Join(keep...)
}

func underAny(path string, roots []string) bool {
	for _, r := range roots {
		if path == r || strings.HasPrefix(path, r+".") || strings.HasPrefix(path, r+"[") {
			return true
		}
	}
	return false
}

// decode turns data into a Config. soft holds the problems after which
// the other checks still run, each with its line and key path: unknown
// keys, bad durations (they leave 0, the default) and values of the wrong
// type whose key path is known (typed lists those paths, so that Parse
// does not judge the zero they leave). err is any other decoding problem,
// which stops the checks.
func decode(data []byte) (c *Config, soft error, typed []string, err error) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, nil, nil, err // syntax error; yaml.v3 includes the line
	}
	c = &Config{}
	if root.Kind == 0 {
		return c, nil, nil, nil // empty file: Validate says what is missing
	}
	w := newKeyWalker()
	w.walk(&root, reflect.TypeOf(*c), "")

	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	derr := dec.Decode(c)
	if derr == nil {
		// A second document would otherwise be ignored without a word.
		var extra yaml.Node
		if dec.Decode(&extra) != io.EOF {
			return nil, nil, nil, errors.New("config: the file holds more than one YAML document")
		}
		return c, errors.Join(w.unknown...), nil, nil
	}
	var te *yaml.TypeError
	if !errors.As(derr, &te) {
		return nil, nil, nil, derr
	}
	problems := append([]error(nil), w.unknown...)
	stop := false
	for _, msg := range te.Errors {
		switch {
		case strings.Contains(msg, " not found in type ") && len(w.unknown) > 0:
			continue // reported by the walker, with its path
		case strings.Contains(msg, durationProblem):
			// A bad duration leaves 0, which means the default: nothing
			// misleading follows.
			problems = append(problems, w.annotate(msg))
		default:
			fe := w.annotate(msg)
			if fe.Path == "" {
				// Without the key path, the zero left behind cannot be
				// kept out of the other checks: stop here.
				stop = true
			} else {
				typed = append(typed, fe.Path)
			}
			problems = append(problems, fe)
		}
	}
	if stop {
		return nil, nil, nil, errors.Join(problems...)
	}
	return c, errors.Join(problems...), typed, nil
}

var (
	lineRe = regexp.MustCompile(`^line (\d+): (.*)$`)
	// yaml.v3 quotes the offending value in backticks ("cannot unmarshal
	// !!str `hunter2` into int"); a secret typed into the wrong key must not
	// reach the terminal, so the value is dropped.
	valueRe = regexp.MustCompile(" `[^`]*`")
)

// annotate adds the key path to a yaml.v3 "line N: ..." message and drops
// echoed values.
func (w *keyWalker) annotate(msg string) *FieldError {
	msg = valueRe.ReplaceAllString(msg, "")
	m := lineRe.FindStringSubmatch(msg)
	if m == nil {
		return &FieldError{Msg: msg}
	}
	line, _ := strconv.Atoi(m[1])
	return &FieldError{Path: w.pathAt(line), Line: line, Msg: m[2]}
}
