package policy

// MustCompile is Compile for fixed, known-good arguments in tests.
func MustCompile(role, rules string) *Policy {
	p, err := Compile(role, rules)
	if err != nil {
		panic(err)
	}
	return p
}
