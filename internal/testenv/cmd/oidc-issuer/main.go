// Command oidc-issuer serves the test environment's GitHub-shaped OIDC
// issuer (package oidcissuer) for scripts/testenv-sigstore:
//
//	oidc-issuer -url http://127.0.0.1:7306 -key DIR/oidc-key.pem -request-token-file DIR/oidc-request-token
package main

import (
	"flag"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/org/image-pipeline/internal/testenv/oidcissuer"
)

func main() {
	url := flag.String("url", "http://127.0.0.1:7306", "the issuer URL (iss), served on its host and port")
	keyPath := flag.String("key", "", "the RSA signing key (PEM, PKCS #8), made if absent")
	tokenFile := flag.String("request-token-file", "", "file holding the bearer token token requests must carry")
	flag.Parse()
	if *keyPath == "" || *tokenFile == "" {
		fmt.Fprintln(os.Stderr, "oidc-issuer: -key and -request-token-file are required")
		os.Exit(2)
	}
	key, err := oidcissuer.LoadOrCreateKey(*keyPath)
	if err != nil {
		fmt.Fprintf(os.Stderr, "oidc-issuer: %v\n", err)
		os.Exit(1)
	}
	tok, err := os.ReadFile(*tokenFile)
	if err != nil || strings.TrimSpace(string(tok)) == "" {
		fmt.Fprintf(os.Stderr, "oidc-issuer: read the request token from %s: %v\n", *tokenFile, err)
		os.Exit(1)
	}
	iss := oidcissuer.New(*url, key, strings.TrimSpace(string(tok)))
	srv := &http.Server{Addr: oidcissuer.Addr(*url), Handler: iss.Handler(), ReadHeaderTimeout: 10 * time.Second}
	fmt.Fprintf(os.Stderr, "oidc-issuer: serving %s\n", *url)
	if err := srv.ListenAndServe(); err != nil {
		fmt.Fprintf(os.Stderr, "oidc-issuer: %v\n", err)
		os.Exit(1)
	}
}
