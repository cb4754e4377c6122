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
// Unknown keys and bad durations do not stop the checks (a typo and a
// duplicate tenant are reported together), but any other decoding error
// does: a value of the wrong type leaves a zero behind that would only
// produce misleading follow-on errors.
func Parse(data []byte, lookupEnv func(string) (string, bool), h ...Hooks) (*Config, error) {
	var hooks Hooks
	if len(h) > 0 {
		hooks = h[0]
	}
	c, unknown, err := decode(data)
	if err != nil {
		return nil, err
	}
	c.ApplyDefaults()
	resolveErr := c.Resolve(lookupEnv)
	validateErr := c.ValidateWith(hooks)
	if err := errors.Join(unknown, validateErr, resolveErr); err != nil {
		return nil, err
	}
	return c, nil
}

// decode turns data into a Config. unknown holds the unknown-key errors,
// each with its line and key path; err is any other decoding problem.
func decode(data []byte) (c *Config, unknown error, err error) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, nil, err // syntax error; yaml.v3 includes the line
	}
	c = &Config{}
	if root.Kind == 0 {
		return c, nil, nil // empty file: Validate says what is missing
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
			return nil, nil, errors.New("config: the file holds more than one YAML document")
		}
		return c, errors.Join(w.unknown...), nil
	}
	var te *yaml.TypeError
	if !errors.As(derr, &te) {
		return nil, nil, derr
	}
	var other, soft []error
	for _, msg := range te.Errors {
		switch {
		case strings.Contains(msg, " not found in type ") && len(w.unknown) > 0:
			continue // reported by the walker, with its path
		case strings.Contains(msg, durationProblem):
			// A bad duration leaves 0, which means the default: nothing
			// misleading follows, so the other checks still run.
			soft = append(soft, w.annotate(msg))
		default:
			other = append(other, w.annotate(msg))
		}
	}
	if len(other) > 0 {
		return nil, nil, errors.Join(append(append(w.unknown, soft...), other...)...)
	}
	return c, errors.Join(append(w.unknown, soft...)...), nil
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
func (w *keyWalker) annotate(msg string) error {
	msg = valueRe.ReplaceAllString(msg, "")
	m := lineRe.FindStringSubmatch(msg)
	if m == nil {
		return &FieldError{Msg: msg}
	}
	line, _ := strconv.Atoi(m[1])
	return &FieldError{Path: w.pathAt(line), Line: line, Msg: m[2]}
}
