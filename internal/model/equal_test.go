package model

import (
	"reflect"
	"testing"
	"time"
)

// Every field of Tenant (and of Credential) takes part in Equal: change
// any one and the tenants differ. A field added without a case in Equal
// fails here, before it can be silently ignored by a reused build.
func TestTenantEqualCoversEveryField(t *testing.T) {
	base := func() Tenant {
		on := true
		return Tenant{Name: "a", Source: "file", Upstream: "u", DB: db(1), Role: RoleReadWrite, Commands: "+get",
			ShareDB: true, EndSessionsAtExpiry: &on,
			Credentials: []Credential{{ID: "c", Digest: [32]byte{1}, CreatedAt: time.Unix(1, 0), ExpiresAt: time.Unix(2, 0)}}}
	}
	a := base()
	if b := base(); !a.Equal(&b) {
		t.Fatal("equal tenants differ")
	}
	change := func(t *testing.T, v reflect.Value) {
		switch v.Kind() {
		case reflect.String:
			v.SetString(v.String() + "x")
		case reflect.Bool:
			v.SetBool(!v.Bool())
		case reflect.Int, reflect.Int64:
			v.SetInt(v.Int() + 1)
		case reflect.Pointer:
			n := reflect.New(v.Type().Elem())
			switch n.Elem().Kind() {
			case reflect.Int, reflect.Int64:
				if v.IsNil() {
					n.Elem().SetInt(7)
				} else {
					n.Elem().SetInt(v.Elem().Int() + 1)
				}
			case reflect.Bool:
				n.Elem().SetBool(!v.Elem().Bool())
			default:
				t.Fatalf("add a case for %s", v.Type())
			}
			v.Set(n)
		case reflect.Array:
			v.Index(0).SetUint(v.Index(0).Uint() + 1)
		case reflect.Struct:
			if v.Type() != reflect.TypeOf(time.Time{}) {
				t.Fatalf("add a case for %s", v.Type())
			}
			v.Set(reflect.ValueOf(v.Interface().(time.Time).Add(time.Second)))
		default:
			t.Fatalf("add a case for %s", v.Type())
		}
	}
	tt := reflect.TypeOf(Tenant{})
	for i := range tt.NumField() {
		f := tt.Field(i)
		if f.Name == "Credentials" {
			ct := reflect.TypeOf(Credential{})
			for j := range ct.NumField() {
				b := base()
				change(t, reflect.ValueOf(&b.Credentials[0]).Elem().Field(j))
				if a.Equal(&b) {
					t.Errorf("Equal ignores Credential.%s", ct.Field(j).Name)
				}
			}
			b := base()
			b.Credentials = append(b.Credentials, b.Credentials[0])
			if a.Equal(&b) {
				t.Error("Equal ignores an added credential")
			}
			continue
		}
		if f.Name == "Limits" {
			lt := reflect.TypeOf(Limits{})
			for j := range lt.NumField() {
				b := base()
				change(t, reflect.ValueOf(&b.Limits).Elem().Field(j))
				if a.Equal(&b) {
					t.Errorf("Equal ignores Limits.%s", lt.Field(j).Name)
				}
			}
			continue
		}
		b := base()
		change(t, reflect.ValueOf(&b).Elem().Field(i))
		if a.Equal(&b) {
			t.Errorf("Equal ignores Tenant.%s", f.Name)
		}
	}
}
