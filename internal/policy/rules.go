package policy

import (
	"errors"
	"fmt"
	"strings"

	"github.com/redoubt-proxy/redoubt/internal/command"
)

// applyRules applies Redis ACL command rules to b, left to right:
//
//	+cmd -cmd           a command; for a container (CLIENT) all its subcommands too
//	+cmd|sub -cmd|sub   one subcommand
//	+@cat -@cat         every command in the category, as Redis does it: a
//	                    matching container brings all its subcommands along
//	+@all -@all         everything / nothing (also: allcommands, nocommands)
//
// Rules about keys, channels, passwords or users (~k*, &ch, >pw, on, ...)
// are refused: the proxy checks commands only, so accepting them would
// promise a restriction that is not enforced. So are first-argument rules
// (+select|0), which Redis deprecates.
func applyRules(b *bitset, rules string) error {
	var errs []error
	for i, rule := range strings.Fields(rules) {
		if err := applyRule(b, rule); err != nil {
			// Rules come from the config file, whose errors name the
			// place (rule N) and never repeat a value.
			errs = append(errs, fmt.Errorf("rule %d: %w", i+1, err))
		}
	}
	return errors.Join(errs...)
}

func applyRule(b *bitset, rule string) error {
	switch strings.ToLower(rule) {
	case "allcommands":
		rule = "+@all"
	case "nocommands":
		rule = "-@all"
	}
	if rule[0] != '+' && rule[0] != '-' {
		return errors.New("not a command rule: want +cmd, -cmd, +@category, -@category, allcommands or nocommands")
	}
	allow, name := rule[0] == '+', strings.ToLower(rule[1:])
	if cat, ok := strings.CutPrefix(name, "@"); ok {
		cats, ok := command.CategoryByName(cat)
		if !ok {
			return errors.New("unknown category")
		}
		for id := command.ID(1); id <= command.MaxID; id++ {
			c := command.ByID(id)
			if c.Categories&cats != 0 || cats == command.CatAll {
				setCommand(b, c, allow)
			}
		}
		return nil
	}
	c := command.ByName(name)
	if c == nil {
		parent, _, found := strings.Cut(name, "|")
		if p := command.ByName(parent); found && p != nil && len(p.Subcommands) == 0 {
			return errors.New("the command has no subcommands; first-argument rules are not supported")
		}
		return errors.New("unknown command")
	}
	setCommand(b, c, allow)
	return nil
}

// setCommand sets c and, for a container, its subcommands (Redis's
// ACLChangeSelectorPerm).
func setCommand(b *bitset, c *command.Command, allow bool) {
	b.set(c.ID, allow)
	for _, s := range c.Subcommands {
		b.set(s, allow)
	}
}
