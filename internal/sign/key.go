package sign

import (
	"crypto"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/sigstore/cosign/v3/pkg/cosign"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/sigstore/sigstore/pkg/signature"
)

// ErrWrongPassword is returned (wrapped) when cosign-password does not
// decrypt cosign-key.
var ErrWrongPassword = errors.New("the password is wrong")

// keyPEM resolves cosign-key to PEM bytes and says where it came from, for
// messages ("the cosign-key input", "the file k.pem", "$COSIGN_KEY").
func keyPEM(o Options) ([]byte, string, error) {
	key := strings.TrimSpace(o.Key)
	switch {
	case strings.Contains(key, "-----BEGIN"):
		return []byte(key), "the " + InputKey + " input", nil
	case strings.HasPrefix(key, "env://"):
		v := strings.TrimPrefix(key, "env://")
		val := o.getenv(v)
		if strings.TrimSpace(val) == "" {
			return nil, "", fmt.Errorf("%s is env://%s but $%s is empty: set it from a secret (env: %s: ${{ secrets.… }})", InputKey, v, v, v)
		}
		return []byte(strings.TrimSpace(val)), "$" + v, nil
	}
	if !looksLikePath(key) {
		return nil, "", fmt.Errorf("%s is neither a PEM key nor a file path", InputKey)
	}
	b, err := os.ReadFile(key)
	if err != nil {
		return nil, "", fmt.Errorf("read the %s file: %w", InputKey, err)
	}
	return b, "the file " + key, nil
}

// loadKey decrypts cosign-key with cosign-password. Its errors are one
// line, name the input, and never hold the key or the password.
func loadKey(o Options) (signature.SignerVerifier, error) {
	k, err := readKey(o)
	if err != nil {
		return nil, err
	}
	return k.decrypt(o.Password)
}

// encryptedKey is cosign-key read and checked for its form (a PEM block of
// an encrypted cosign key around a JSON box), not yet decrypted: the
// checks that cost nothing, apart from the key derivation.
type encryptedKey struct {
	pem  []byte
	from string // for messages: "the cosign-key input", "the file k.pem", "$COSIGN_KEY"
}

// readKey resolves cosign-key and checks its form.
func readKey(o Options) (encryptedKey, error) {
	pemBytes, from, err := keyPEM(o)
	if err != nil {
		return encryptedKey{}, err
	}
	block, _ := pem.Decode(pemBytes)
	if block == nil {
		return encryptedKey{}, fmt.Errorf("%s (%s) holds no PEM block: give the cosign.key written by cosign generate-key-pair", InputKey, from)
	}
	if block.Type != cosign.CosignPrivateKeyPemType && block.Type != cosign.SigstorePrivateKeyPemType {
		return encryptedKey{}, fmt.Errorf("%s (%s) is a %q PEM block, not an encrypted cosign key: create one with cosign generate-key-pair, or convert this one with cosign import-key-pair", InputKey, from, block.Type)
	}
	var box struct {
		KDF        *struct{ Name string } `json:"kdf"`
		Cipher     *struct{ Name string } `json:"cipher"`
		Ciphertext []byte                 `json:"ciphertext"`
	}
	if err := json.Unmarshal(block.Bytes, &box); err != nil || box.KDF == nil || box.Cipher == nil || len(box.Ciphertext) == 0 {
		return encryptedKey{}, fmt.Errorf("%s (%s) is damaged: its PEM block does not hold cosign's encrypted key (kdf, cipher, ciphertext); give the cosign.key written by cosign generate-key-pair", InputKey, from)
	}
	return encryptedKey{pem: pemBytes, from: from}, nil
}

// decrypt derives the key from password (scrypt: about 0.1–0.2 s) and
// opens the box.
func (k encryptedKey) decrypt(password string) (signature.SignerVerifier, error) {
	sv, err := cosign.LoadPrivateKey(k.pem, []byte(password), nil)
	if err != nil {
		if strings.Contains(err.Error(), "decrypt") {
			return nil, fmt.Errorf("%s (%s) cannot be decrypted with %s: %w (or the key is damaged)", InputKey, k.from, InputPassword, ErrWrongPassword)
		}
		return nil, fmt.Errorf("%s (%s) cannot be loaded: %w", InputKey, k.from, err)
	}
	return sv, nil
}

// publicKeyPEM is the PEM of a signer's public key (cosign.pub).
func publicKeyPEM(sv signature.SignerVerifier) ([]byte, crypto.PublicKey, error) {
	pub, err := sv.PublicKey()
	if err != nil {
		return nil, nil, fmt.Errorf("read the public key of %s: %w", InputKey, err)
	}
	b, err := cryptoutils.MarshalPublicKeyToPEM(pub)
	if err != nil {
		return nil, nil, fmt.Errorf("encode the public key of %s: %w", InputKey, err)
	}
	return b, pub, nil
}
