package sign

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/cyberphone/json-canonicalization/go/src/webpki.org/jsoncanonicalizer"
	"github.com/go-openapi/runtime"
	"github.com/go-openapi/swag/conv"
	cbundle "github.com/sigstore/cosign/v3/pkg/cosign/bundle"
	"github.com/sigstore/rekor/pkg/generated/models"
	rekortypes "github.com/sigstore/rekor/pkg/types"
	rekorutil "github.com/sigstore/rekor/pkg/util"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/transparency-dev/merkle/rfc6962"
	"github.com/transparency-dev/merkle/testonly"
)

// fakeSigstore runs, on httptest servers, the three public APIs keyless
// signing talks to: the runner's OIDC token endpoint (GET
// ACTIONS_ID_TOKEN_REQUEST_URL&audience=…), Fulcio's POST
// /api/v2/signingCert (a CA that checks the bearer token and the proof of
// possession) and Rekor's POST /api/v1/log/entries (Rekor's own entry
// types validate and canonicalize the entry; a Merkle tree gives inclusion
// proofs, a key signs SETs and checkpoints). Its trusted root lets the
// library and the CLIs verify what was signed against it.
type fakeSigstore struct {
	t testing.TB

	runner, fulcio, rekor *httptest.Server

	requestToken string // ACTIONS_ID_TOKEN_REQUEST_TOKEN
	idToken      string // the JWT the runner hands out
	identity     string // the SAN Fulcio certifies (job_workflow_ref)
	issuer       string

	caKey    *ecdsa.PrivateKey
	caCert   *x509.Certificate
	rekorKey *ecdsa.PrivateKey
	logID    []byte

	// TrustedRoot is a trusted_root.json for this instance.
	TrustedRoot string

	mu             sync.Mutex
	tree           *testonly.Tree
	tokenRequests  int
	certRequests   int
	entries        []string // kinds of the logged entries
	fulcioStatus   int      // when set, Fulcio answers it
	rekorStatus    int      // when set, Rekor answers it
	runnerStatus   int      // when set, the token endpoint answers it
	requestShapeOK bool
}

func newFakeSigstore(t testing.TB) *fakeSigstore {
	t.Helper()
	f := &fakeSigstore{
		t:            t,
		requestToken: "request-token-" + rand.Text(),
		identity:     "https://github.com/org/app/.github/workflows/release.yml@refs/tags/v1.2.3",
		issuer:       GitHubIssuer,
		tree:         testonly.New(rfc6962.DefaultHasher),
	}
	var err error
	if f.caKey, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
		t.Fatal(err)
	}
	if f.rekorKey, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(&f.rekorKey.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(der)
	f.logID = sum[:]
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "fake fulcio root", Organization: []string{"image-pipeline tests"}},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &f.caKey.PublicKey, f.caKey)
	if err != nil {
		t.Fatal(err)
	}
	if f.caCert, err = x509.ParseCertificate(caDER); err != nil {
		t.Fatal(err)
	}
	f.idToken = unsignedJWT(t, map[string]any{
		"iss":              f.issuer,
		"sub":              "repo:org/app:ref:refs/tags/v1.2.3",
		"aud":              Audience,
		"job_workflow_ref": "org/app/.github/workflows/release.yml@refs/tags/v1.2.3",
		"exp":              time.Now().Add(5 * time.Minute).Unix(),
	})

	f.runner = httptest.NewServer(http.HandlerFunc(f.serveToken))
	f.fulcio = httptest.NewServer(http.HandlerFunc(f.serveFulcio))
	f.rekor = httptest.NewServer(http.HandlerFunc(f.serveRekor))
	t.Cleanup(f.runner.Close)
	t.Cleanup(f.fulcio.Close)
	t.Cleanup(f.rekor.Close)
	f.TrustedRoot = f.writeTrustedRoot()
	return f
}

// options are keyless options pointing at the fake instance.
func (f *fakeSigstore) options() Options {
	return Options{
		Sign:                SignAuto,
		EventName:           "push",
		IsTag:               true,
		FulcioURL:           f.fulcio.URL,
		RekorURL:            f.rekor.URL,
		TrustedRoot:         f.TrustedRoot,
		IDTokenRequestURL:   f.runner.URL + "/_apis/distributedtask/hubs/build/plans/p/jobs/j/idtoken?api-version=2.0",
		IDTokenRequestToken: f.requestToken,
	}
}

func unsignedJWT(t testing.TB, claims map[string]any) string {
	t.Helper()
	h, _ := json.Marshal(map[string]string{"alg": "RS256", "typ": "JWT", "kid": "test"})
	c, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	enc := base64.RawURLEncoding.EncodeToString
	return enc(h) + "." + enc(c) + "." + enc([]byte("not-a-real-signature"))
}

// serveToken is the runner's token endpoint, checking the request shape
// of actions/toolkit's getIDToken.
func (f *fakeSigstore) serveToken(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.tokenRequests++
	status := f.runnerStatus
	f.mu.Unlock()
	q := r.URL.Query()
	var problems []string
	if r.Method != http.MethodGet {
		problems = append(problems, "method "+r.Method+", want GET")
	}
	if got := r.Header.Get("Authorization"); got != "Bearer "+f.requestToken {
		problems = append(problems, fmt.Sprintf("Authorization %q, want Bearer <ACTIONS_ID_TOKEN_REQUEST_TOKEN>", got))
	}
	if q.Get("api-version") != "2.0" || q.Get("audience") != Audience || len(q) != 2 {
		problems = append(problems, "query "+r.URL.RawQuery+", want api-version=2.0 and audience=sigstore")
	}
	if len(problems) > 0 {
		f.t.Errorf("token request: %v", problems)
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	f.mu.Lock()
	f.requestShapeOK = true
	f.mu.Unlock()
	if status != 0 {
		http.Error(w, `{"message":"Unable to get ACTIONS_ID_TOKEN_REQUEST_URL env variable"}`, status)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"count": 1, "value": f.idToken})
}

// serveFulcio is POST /api/v2/signingCert.
func (f *fakeSigstore) serveFulcio(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.certRequests++
	status := f.fulcioStatus
	f.mu.Unlock()
	if r.Method != http.MethodPost || r.URL.Path != "/api/v2/signingCert" {
		http.Error(w, "not found", http.StatusNotFound)
		return
	}
	if status != 0 {
		http.Error(w, `{"code":16,"message":"There was an error processing the identity token"}`, status)
		return
	}
	if r.Header.Get("Authorization") != "Bearer "+f.idToken {
		http.Error(w, `{"code":16,"message":"invalid identity token"}`, http.StatusUnauthorized)
		return
	}
	var req fulcioRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	pub, err := cryptoutils.UnmarshalPEMToPublicKey([]byte(req.PublicKeyRequest.PublicKey.Content))
	if err != nil {
		http.Error(w, "public key: "+err.Error(), http.StatusBadRequest)
		return
	}
	proof, err := base64.StdEncoding.DecodeString(req.PublicKeyRequest.ProofOfPossession)
	if err != nil {
		http.Error(w, "proof: "+err.Error(), http.StatusBadRequest)
		return
	}
	v, err := signature.LoadVerifier(pub, crypto.SHA256)
	if err == nil {
		err = v.VerifySignature(bytes.NewReader(proof), bytes.NewReader([]byte("repo:org/app:ref:refs/tags/v1.2.3")))
	}
	if err != nil {
		http.Error(w, `{"code":3,"message":"The public key supplied in the request could not be parsed or the proof of possession is wrong"}`, http.StatusBadRequest)
		return
	}
	leaf, err := f.issue(pub)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	caPEM, _ := cryptoutils.MarshalCertificateToPEM(f.caCert)
	var resp struct {
		Embedded struct {
			Chain struct {
				Certificates []string `json:"certificates"`
			} `json:"chain"`
		} `json:"signedCertificateEmbeddedSct"`
	}
	resp.Embedded.Chain.Certificates = []string{string(leaf), string(caPEM)}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	_ = json.NewEncoder(w).Encode(resp)
}

// issue makes a 10-minute code-signing certificate for pub with the
// identity as URI SAN and the issuer in both Fulcio issuer extensions.
func (f *fakeSigstore) issue(pub crypto.PublicKey) ([]byte, error) {
	san, err := url.Parse(f.identity)
	if err != nil {
		return nil, err
	}
	issuerV2, err := asn1.MarshalWithParams(f.issuer, "utf8")
	if err != nil {
		return nil, err
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		NotBefore:    time.Now().Add(-time.Minute),
		NotAfter:     time.Now().Add(10 * time.Minute),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning},
		URIs:         []*url.URL{san},
		ExtraExtensions: []pkix.Extension{
			{Id: asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1, 1}, Value: []byte(f.issuer)},
			{Id: asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1, 8}, Value: issuerV2},
		},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, f.caCert, pub, f.caKey)
	if err != nil {
		return nil, err
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return cryptoutils.MarshalCertificateToPEM(c)
}

// serveRekor is POST /api/v1/log/entries.
func (f *fakeSigstore) serveRekor(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/api/v1/log/entries" {
		http.Error(w, `{"code":404,"message":"not found"}`, http.StatusNotFound)
		return
	}
	f.mu.Lock()
	status := f.rekorStatus
	f.mu.Unlock()
	if status != 0 {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = w.Write([]byte(`{"code":500,"message":"error communicating with trillian backend"}`))
		return
	}
	pe, err := models.UnmarshalProposedEntry(r.Body, runtime.JSONConsumer())
	if err != nil {
		writeRekorError(w, http.StatusBadRequest, err)
		return
	}
	// Rekor's own types validate the entry (signature over the artifact)
	// and canonicalize it, as the real server does.
	impl, err := rekortypes.CreateVersionedEntry(pe)
	if err != nil {
		writeRekorError(w, http.StatusBadRequest, err)
		return
	}
	body, err := rekortypes.CanonicalizeEntry(r.Context(), impl)
	if err != nil {
		writeRekorError(w, http.StatusBadRequest, err)
		return
	}

	f.mu.Lock()
	index := f.tree.Size()
	f.tree.AppendData(body)
	size := f.tree.Size()
	rootHash := f.tree.Hash()
	proof, err := f.tree.InclusionProof(index, size)
	f.entries = append(f.entries, pe.Kind())
	f.mu.Unlock()
	if err != nil {
		writeRekorError(w, http.StatusInternalServerError, err)
		return
	}
	signer, err := signature.LoadECDSASignerVerifier(f.rekorKey, crypto.SHA256)
	if err != nil {
		writeRekorError(w, http.StatusInternalServerError, err)
		return
	}
	checkpoint, err := rekorutil.CreateAndSignCheckpoint(r.Context(), "rekor.test", 1, size, rootHash, signer)
	if err != nil {
		writeRekorError(w, http.StatusInternalServerError, err)
		return
	}
	b64body := base64.StdEncoding.EncodeToString(body)
	integrated := time.Now().Unix()
	logID := hex.EncodeToString(f.logID)
	set, err := f.signSET(cbundle.RekorPayload{Body: b64body, IntegratedTime: integrated, LogIndex: int64(index), LogID: logID})
	if err != nil {
		writeRekorError(w, http.StatusInternalServerError, err)
		return
	}
	hashes := make([]string, len(proof))
	for i, h := range proof {
		hashes[i] = hex.EncodeToString(h)
	}
	entry := models.LogEntryAnon{
		Body:           b64body,
		IntegratedTime: conv.Pointer(integrated),
		LogID:          conv.Pointer(logID),
		LogIndex:       conv.Pointer(int64(index)),
		Verification: &models.LogEntryAnonVerification{
			InclusionProof: &models.InclusionProof{
				Checkpoint: conv.Pointer(string(checkpoint)),
				Hashes:     hashes,
				LogIndex:   conv.Pointer(int64(index)),
				RootHash:   conv.Pointer(hex.EncodeToString(rootHash)),
				TreeSize:   conv.Pointer(int64(size)),
			},
			SignedEntryTimestamp: set,
		},
	}
	uuid := hex.EncodeToString(rfc6962.DefaultHasher.HashLeaf(body))
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("ETag", uuid)
	w.Header().Set("Location", "/api/v1/log/entries/"+uuid)
	w.WriteHeader(http.StatusCreated)
	_ = json.NewEncoder(w).Encode(map[string]models.LogEntryAnon{uuid: entry})
}

// signSET signs the canonical JSON of the entry's payload, as Rekor does.
func (f *fakeSigstore) signSET(p cbundle.RekorPayload) ([]byte, error) {
	b, err := json.Marshal(p)
	if err != nil {
		return nil, err
	}
	canonical, err := jsoncanonicalizer.Transform(b)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(canonical)
	return ecdsa.SignASN1(rand.Reader, f.rekorKey, sum[:])
}

func writeRekorError(w http.ResponseWriter, code int, err error) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]any{"code": code, "message": err.Error()})
}

// writeTrustedRoot writes a trusted_root.json naming this instance's CA
// and log key (and no CT log).
func (f *fakeSigstore) writeTrustedRoot() string {
	f.t.Helper()
	start := time.Now().Add(-time.Hour)
	tr, err := root.NewTrustedRoot(root.TrustedRootMediaType01,
		[]root.CertificateAuthority{&root.FulcioCertificateAuthority{Root: f.caCert, ValidityPeriodStart: start, URI: f.fulcio.URL}},
		nil, nil,
		map[string]*root.TransparencyLog{hex.EncodeToString(f.logID): {
			BaseURL:             f.rekor.URL,
			ID:                  f.logID,
			ValidityPeriodStart: start,
			HashFunc:            crypto.SHA256,
			PublicKey:           &f.rekorKey.PublicKey,
			SignatureHashFunc:   crypto.SHA256,
		}})
	if err != nil {
		f.t.Fatal(err)
	}
	b, err := tr.MarshalJSON()
	if err != nil {
		f.t.Fatal(err)
	}
	p := filepath.Join(f.t.TempDir(), "trusted_root.json")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		f.t.Fatal(err)
	}
	return p
}

func (f *fakeSigstore) counts() (tokens, certs int, entries []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.tokenRequests, f.certRequests, append([]string(nil), f.entries...)
}

// legacyTrustEnv is the trust of this instance as the cosign CLIs read it
// without a trusted_root.json: SIGSTORE_ROOT_FILE (the Fulcio CA) and
// SIGSTORE_REKOR_PUBLIC_KEY.
func (f *fakeSigstore) legacyTrustEnv() []string {
	f.t.Helper()
	ca, err := cryptoutils.MarshalCertificateToPEM(f.caCert)
	if err != nil {
		f.t.Fatal(err)
	}
	rk, err := cryptoutils.MarshalPublicKeyToPEM(&f.rekorKey.PublicKey)
	if err != nil {
		f.t.Fatal(err)
	}
	dir := f.t.TempDir()
	caFile, rekorFile := filepath.Join(dir, "fulcio.pem"), filepath.Join(dir, "rekor.pub")
	if err := os.WriteFile(caFile, ca, 0o644); err != nil {
		f.t.Fatal(err)
	}
	if err := os.WriteFile(rekorFile, rk, 0o644); err != nil {
		f.t.Fatal(err)
	}
	return []string{"SIGSTORE_ROOT_FILE=" + caFile, "SIGSTORE_REKOR_PUBLIC_KEY=" + rekorFile}
}
