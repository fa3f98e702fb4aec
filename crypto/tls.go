package crypto

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// File names of the hub CA inside its directory (changing them breaks
// existing data directories).
const (
	CACertFile = "ca.crt" // PEM certificate, 0644
	CAKeyFile  = "ca.key" // PEM PKCS#8 private key, 0600
)

// Validity periods. Peers are pinned by SPKI fingerprint in the directory,
// so expiry is a backstop, not the revocation mechanism (remove_node is).
const (
	caValidity   = 20 * 365 * 24 * time.Hour
	nodeValidity = 10 * 365 * 24 * time.Hour
	clockSkew    = time.Hour
)

// CA is the hub's certificate authority for node TLS (mutual TLS between
// nodes). Its key is ECDSA P-256: see docs/crypto.md for why.
type CA struct {
	Cert *x509.Certificate
	Key  crypto.Signer
}

func serialNumber() (*big.Int, error) {
	return rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
}

// NewCA creates a self-signed ECDSA P-256 CA (20 years, path length 0).
func NewCA(commonName string) (*CA, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("creating ca: %w", err)
	}
	serial, err := serialNumber()
	if err != nil {
		return nil, fmt.Errorf("creating ca: %w", err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: commonName, Organization: []string{"penhub"}},
		NotBefore:             now.Add(-clockSkew),
		NotAfter:              now.Add(caValidity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, fmt.Errorf("creating ca: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("creating ca: %w", err)
	}
	return &CA{Cert: cert, Key: key}, nil
}

// Pool returns a pool holding only this CA.
func (ca *CA) Pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(ca.Cert)
	return p
}

// CertPEM returns the CA certificate in PEM (what joining nodes need).
func (ca *CA) CertPEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.Cert.Raw})
}

// WriteFiles writes dir/ca.crt (0644) and dir/ca.key (0600), fsynced,
// creating dir (0700). Existing files are not replaced (fs.ErrExist).
func (ca *CA) WriteFiles(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("writing ca files: %w", err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(ca.Key)
	if err != nil {
		return fmt.Errorf("writing ca files: %w", err)
	}
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})
	defer clear(keyPEM)
	if err := writeFileNoClobber(filepath.Join(dir, CAKeyFile), keyPEM, 0o600); err != nil {
		return fmt.Errorf("writing ca key: %w", err)
	}
	if err := writeFileNoClobber(filepath.Join(dir, CACertFile), ca.CertPEM(), 0o644); err != nil {
		return fmt.Errorf("writing ca certificate: %w", err)
	}
	return nil
}

// LoadCA reads dir/ca.crt and dir/ca.key and checks that they match.
func LoadCA(dir string) (*CA, error) {
	cert, key, err := loadPair(filepath.Join(dir, CACertFile), filepath.Join(dir, CAKeyFile))
	if err != nil {
		return nil, fmt.Errorf("loading ca: %w", err)
	}
	if !cert.IsCA {
		return nil, fmt.Errorf("loading ca: %w: certificate is not a ca", ErrMalformed)
	}
	return &CA{Cert: cert, Key: key}, nil
}

// LoadCertPool reads a PEM CA certificate file (e.g. dir/ca.crt) into a pool.
func LoadCertPool(certFile string) (*x509.CertPool, error) {
	data, err := os.ReadFile(certFile)
	if err != nil {
		return nil, fmt.Errorf("loading ca certificate: %w", err)
	}
	p := x509.NewCertPool()
	if !p.AppendCertsFromPEM(data) {
		return nil, fmt.Errorf("loading ca certificate %q: %w: no certificate", certFile, ErrMalformed)
	}
	return p, nil
}

func loadPair(certFile, keyFile string) (*x509.Certificate, crypto.Signer, error) {
	pair, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, nil, err
	}
	signer, ok := pair.PrivateKey.(crypto.Signer)
	if !ok {
		return nil, nil, fmt.Errorf("%w: key in %q cannot sign", ErrMalformed, keyFile)
	}
	return pair.Leaf, signer, nil
}

// Issue creates a node certificate signed by the CA: a fresh ECDSA P-256
// key, SAN DNS = nodeID (what clients check as the server name), SAN IPs =
// ips, usable as TLS server and client, valid 10 years. The returned
// certificate has Leaf set.
func (ca *CA) Issue(nodeID string, ips []net.IP) (tls.Certificate, error) {
	if !validName(nodeID) {
		return tls.Certificate{}, fmt.Errorf("issuing node certificate: %w: node id %q", ErrMalformed, nodeID)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("issuing node certificate: %w", err)
	}
	serial, err := serialNumber()
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("issuing node certificate: %w", err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: nodeID, Organization: []string{"penhub"}},
		NotBefore:    now.Add(-clockSkew),
		NotAfter:     now.Add(nodeValidity),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		DNSNames:     []string{nodeID},
		IPAddresses:  ips,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, key.Public(), ca.Key)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("issuing node certificate for %q: %w", nodeID, err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("issuing node certificate for %q: %w", nodeID, err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, nil
}

// WriteCertificate writes a node certificate (PEM chain, 0644) and its key
// (PEM PKCS#8, 0600), fsynced; existing files are replaced atomically.
func WriteCertificate(certFile, keyFile string, cert tls.Certificate) error {
	var certPEM []byte
	for _, der := range cert.Certificate {
		certPEM = append(certPEM, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})...)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(cert.PrivateKey)
	if err != nil {
		return fmt.Errorf("writing node certificate: %w", err)
	}
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})
	defer clear(keyPEM)
	if err := writeFileAtomic(keyFile, keyPEM, 0o600); err != nil {
		return fmt.Errorf("writing node key: %w", err)
	}
	if err := writeFileAtomic(certFile, certPEM, 0o644); err != nil {
		return fmt.Errorf("writing node certificate: %w", err)
	}
	return nil
}

// LoadCertificate reads a certificate and key written by WriteCertificate
// (Leaf set).
func LoadCertificate(certFile, keyFile string) (tls.Certificate, error) {
	pair, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("loading node certificate: %w", err)
	}
	return pair, nil
}

// SPKIFingerprint returns the lowercase hex SHA-256 of the certificate's
// SubjectPublicKeyInfo (DER), the node's TLS fingerprint in the directory.
func SPKIFingerprint(cert *x509.Certificate) string {
	sum := sha256.Sum256(cert.RawSubjectPublicKeyInfo)
	return hex.EncodeToString(sum[:])
}

// CertificateFingerprint is SPKIFingerprint of a tls.Certificate's leaf.
func CertificateFingerprint(cert tls.Certificate) (string, error) {
	leaf := cert.Leaf
	if leaf == nil {
		if len(cert.Certificate) == 0 {
			return "", fmt.Errorf("fingerprinting certificate: %w: empty", ErrMalformed)
		}
		var err error
		if leaf, err = x509.ParseCertificate(cert.Certificate[0]); err != nil {
			return "", fmt.Errorf("fingerprinting certificate: %w: %v", ErrMalformed, err)
		}
	}
	return SPKIFingerprint(leaf), nil
}

// PeerNodeID returns the node id (first SAN DNS name) of a verified TLS
// peer, or "" if there is none.
func PeerNodeID(cs tls.ConnectionState) string {
	if len(cs.PeerCertificates) == 0 || len(cs.PeerCertificates[0].DNSNames) == 0 {
		return ""
	}
	return cs.PeerCertificates[0].DNSNames[0]
}

// baseTLSConfig is TLS 1.3 only with the hybrid post-quantum key exchange
// only: both ends are penhub nodes, so nothing needs a fallback, and the
// session keys stay safe against harvest-now-decrypt-later.
func baseTLSConfig(cert tls.Certificate) *tls.Config {
	return &tls.Config{
		MinVersion:       tls.VersionTLS13,
		Certificates:     []tls.Certificate{cert},
		CurvePreferences: []tls.CurveID{tls.X25519MLKEM768},
	}
}

func checkPeer(cs tls.ConnectionState, allow func(string) error) error {
	if len(cs.PeerCertificates) == 0 {
		return fmt.Errorf("checking tls peer: %w: no certificate", ErrPeerRejected)
	}
	fp := SPKIFingerprint(cs.PeerCertificates[0])
	if allow == nil {
		return nil
	}
	if err := allow(fp); err != nil {
		return fmt.Errorf("checking tls peer %s: %w", fp, err)
	}
	return nil
}

// ServerTLSConfig returns a TLS 1.3 server config that requires a client
// certificate issued by ca and then calls allow with the client's SPKI
// fingerprint (after chain verification); a non-nil error from allow aborts
// the handshake. A nil allow accepts every certificate the CA issued.
func ServerTLSConfig(ca *x509.CertPool, cert tls.Certificate, allow func(fingerprint string) error) *tls.Config {
	cfg := baseTLSConfig(cert)
	cfg.ClientAuth = tls.RequireAndVerifyClientCert
	cfg.ClientCAs = ca
	cfg.VerifyConnection = func(cs tls.ConnectionState) error { return checkPeer(cs, allow) }
	return cfg
}

// ClientTLSConfig returns a TLS 1.3 client config that presents cert,
// verifies the server's chain against ca and its SAN against serverName
// (the peer's node id), then calls allow with the server's SPKI
// fingerprint. With serverName "" the chain is still verified against ca
// but any node name is accepted (the fingerprint check then decides).
func ClientTLSConfig(ca *x509.CertPool, cert tls.Certificate, serverName string, allow func(fingerprint string) error) *tls.Config {
	cfg := baseTLSConfig(cert)
	cfg.RootCAs = ca
	if serverName != "" {
		cfg.ServerName = serverName
		cfg.VerifyConnection = func(cs tls.ConnectionState) error { return checkPeer(cs, allow) }
		return cfg
	}
	// No name to check: Go's verifier would refuse, so verify the chain
	// ourselves. InsecureSkipVerify only disables the built-in check;
	// VerifyConnection runs on every handshake, including resumptions.
	cfg.InsecureSkipVerify = true
	cfg.VerifyConnection = func(cs tls.ConnectionState) error {
		if len(cs.PeerCertificates) == 0 {
			return fmt.Errorf("checking tls peer: %w: no certificate", ErrPeerRejected)
		}
		inter := x509.NewCertPool()
		for _, c := range cs.PeerCertificates[1:] {
			inter.AddCert(c)
		}
		_, err := cs.PeerCertificates[0].Verify(x509.VerifyOptions{
			Roots:         ca,
			Intermediates: inter,
			KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		})
		if err != nil {
			return fmt.Errorf("checking tls peer: %w: %v", ErrPeerRejected, err)
		}
		return checkPeer(cs, allow)
	}
	return cfg
}
