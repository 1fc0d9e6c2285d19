package registry

import (
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
)

func TestKeychainFollowsThePushOrder(t *testing.T) {
	kc, err := Options{
		GitHubToken: "ghs_token", Actor: "octocat",
		Username: "user", Password: "pw",
		Registries:       logins(t, "registry.example.com=line-user:line-pw"),
		TargetRegistries: []string{"quay.io"},
	}.Keychain()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct{ repo, user, pass string }{
		{"registry.example.com/a/b", "line-user", "line-pw"},
		{"ghcr.io/o/r", "octocat", "ghs_token"},
		{"quay.io/o/r", "user", "pw"},
		// Each login only to its own host: a Dockerfile's FROM elsewhere,
		// or a base image on Docker Hub, is asked anonymously.
		{"evil.example/x/y", "", ""},
		{"index.docker.io/library/debian", "", ""},
	}
	for _, tc := range tests {
		repo, err := name.NewRepository(tc.repo)
		if err != nil {
			t.Fatal(err)
		}
		a, err := kc.Resolve(repo)
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := a.Authorization()
		if err != nil {
			t.Fatal(err)
		}
		if cfg.Username != tc.user || cfg.Password != tc.pass {
			t.Errorf("%s: got %s/%s, want %s/%s", tc.repo, cfg.Username, cfg.Password, tc.user, tc.pass)
		}
	}
	// Without targets (library use) the login is not scoped.
	all, err := Options{Username: "u", Password: "p"}.Keychain()
	if err != nil {
		t.Fatal(err)
	}
	anyRepo, _ := name.NewRepository("quay.io/o/r")
	if a, _ := all.Resolve(anyRepo); a == authn.Anonymous {
		t.Errorf("a keychain without targets answered quay.io anonymously")
	}
	anon, err := Options{}.Keychain()
	if err != nil {
		t.Fatal(err)
	}
	repo, _ := name.NewRepository("quay.io/o/r")
	if a, _ := anon.Resolve(repo); a != authn.Anonymous {
		t.Errorf("no login should resolve to anonymous, got %v", a)
	}
}

func TestAnonymousKeychain(t *testing.T) {
	for _, r := range []string{"ghcr.io/o/r", "registry.example.com/a", "127.0.0.1:5000/xy"} {
		repo, _ := name.NewRepository(r)
		if a, _ := AnonymousKeychain().Resolve(repo); a != authn.Anonymous {
			t.Errorf("%s: %v, want anonymous", r, a)
		}
	}
}
