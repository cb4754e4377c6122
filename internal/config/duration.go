package config

import (
	"fmt"
	"time"

	"gopkg.in/yaml.v3"
)

// durationProblem starts every duration error; decode recognises them by it.
const durationProblem = "not a duration, want one"

// UnmarshalYAML reads a Go duration string ("10s", "1h30m"). A bare number
// is refused rather than guessed at: "10" could mean seconds or nanoseconds.
//
// Errors are returned as *yaml.TypeError so the decoder keeps going and the
// user sees every bad value at once, each with its line.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return &yaml.TypeError{Errors: []string{
			fmt.Sprintf("line %d: %s such as \"10s\" or \"1h30m\"", n.Line, durationProblem)}}
	}
	v, err := time.ParseDuration(n.Value)
	if err != nil {
		return &yaml.TypeError{Errors: []string{
			// The value is not repeated: a secret pasted into the wrong key
			// must not reach a terminal or a log.
			fmt.Sprintf("line %d: %s: a number with a unit, such as \"10s\" or \"1h30m\"", n.Line, durationProblem)}}
	}
	*d = Duration(v)
	return nil
}

// MarshalYAML writes the duration back in the form UnmarshalYAML reads.
func (d Duration) MarshalYAML() (any, error) {
	return time.Duration(d).String(), nil
}

// String formats like time.Duration.
func (d Duration) String() string { return time.Duration(d).String() }
