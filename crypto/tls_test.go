package crypto

import (
	"crypto/tls"
	"errors"
	"io"
	"net"
	"path/filepath"
	"testing"
)

var errNotAllowed = errors.New("not allowed")

type tlsResult struct {
	err    error
	peerID string
	curve  tls.CurveID
}

// handshake runs one TLS connection over loopback and returns the server's
// and the client's handshake results.
func handshake(t *testing.T, srvCfg, cliCfg *tls.Config) (srv, cli tlsResult) {
	t.Helper()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", srvCfg)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	done := make(chan tlsResult, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			done <- tlsResult{err: err}
			return
		}
		defer c.Close()
		tc := c.(*tls.Conn)
		err = tc.Handshake()
		res := tlsResult{err: err}
		if err == nil {
			res.peerID = PeerNodeID(tc.ConnectionState())
			res.curve = tc.ConnectionState().CurveID
			_, _ = tc.Write([]byte("ok"))
		}
		done <- res
	}()
	c, err := tls.Dial("tcp", ln.Addr().String(), cliCfg)
	if err == nil {
		cli.peerID = PeerNodeID(c.ConnectionState())
		cli.curve = c.ConnectionState().CurveID
		// With TLS 1.3 the client may finish before the server has checked
		// the client certificate; a read surfaces the server's verdict.
		buf := make([]byte, 2)
		_, err = io.ReadFull(c, buf)
		c.Close()
	}
	cli.err = err
	return <-done, cli
}

func TestMutualTLS(t *testing.T) {
	ca, err := NewCA("penhub test hub")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := ca.WriteFiles(dir); err != nil {
		t.Fatal(err)
	}
	ca2, err := LoadCA(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !ca2.Cert.Equal(ca.Cert) {
		t.Fatal("loaded CA differs")
	}
	pool, err := LoadCertPool(filepath.Join(dir, CACertFile))
	if err != nil {
		t.Fatal(err)
	}
	n1, err := ca2.Issue("node1", []net.IP{net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	n2, err := ca.Issue("node2", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := WriteCertificate(filepath.Join(dir, "n1.crt"), filepath.Join(dir, "n1.key"), n1); err != nil {
		t.Fatal(err)
	}
	n1, err = LoadCertificate(filepath.Join(dir, "n1.crt"), filepath.Join(dir, "n1.key"))
	if err != nil {
		t.Fatal(err)
	}
	fp1, _ := CertificateFingerprint(n1)
	fp2, _ := CertificateFingerprint(n2)
	if fp1 == fp2 || len(fp1) != 64 {
		t.Fatalf("fingerprints %q %q", fp1, fp2)
	}
	only := func(fp string) func(string) error {
		return func(got string) error {
			if got != fp {
				return errNotAllowed
			}
			return nil
		}
	}

	t.Run("accepted", func(t *testing.T) {
		srv, cli := handshake(t, ServerTLSConfig(pool, n1, only(fp2)), ClientTLSConfig(pool, n2, "node1", only(fp1)))
		if srv.err != nil || cli.err != nil {
			t.Fatalf("server %v, client %v", srv.err, cli.err)
		}
		if srv.curve != tls.X25519MLKEM768 || cli.curve != tls.X25519MLKEM768 {
			t.Fatalf("key exchange %v / %v, want X25519MLKEM768", srv.curve, cli.curve)
		}
		if srv.peerID != "node2" || cli.peerID != "node1" {
			t.Fatalf("peer ids %q %q", srv.peerID, cli.peerID)
		}
	})
	t.Run("no server name", func(t *testing.T) {
		srv, cli := handshake(t, ServerTLSConfig(pool, n1, only(fp2)), ClientTLSConfig(pool, n2, "", only(fp1)))
		if srv.err != nil || cli.err != nil {
			t.Fatalf("server %v, client %v", srv.err, cli.err)
		}
	})
	t.Run("server rejects fingerprint", func(t *testing.T) {
		srv, cli := handshake(t, ServerTLSConfig(pool, n1, only(fp1)), ClientTLSConfig(pool, n2, "node1", nil))
		if !errors.Is(srv.err, errNotAllowed) || cli.err == nil {
			t.Fatalf("server %v, client %v", srv.err, cli.err)
		}
	})
	t.Run("client rejects fingerprint", func(t *testing.T) {
		_, cli := handshake(t, ServerTLSConfig(pool, n1, nil), ClientTLSConfig(pool, n2, "node1", only(fp2)))
		if !errors.Is(cli.err, errNotAllowed) {
			t.Fatalf("client %v", cli.err)
		}
	})
	t.Run("wrong server name", func(t *testing.T) {
		_, cli := handshake(t, ServerTLSConfig(pool, n1, nil), ClientTLSConfig(pool, n2, "node3", nil))
		if cli.err == nil {
			t.Fatal("client accepted a server certificate for another node")
		}
	})
	t.Run("other ca", func(t *testing.T) {
		other, err := NewCA("other hub")
		if err != nil {
			t.Fatal(err)
		}
		stranger, err := other.Issue("node2", nil)
		if err != nil {
			t.Fatal(err)
		}
		srv, cli := handshake(t, ServerTLSConfig(pool, n1, nil), ClientTLSConfig(pool, stranger, "node1", nil))
		if srv.err == nil || cli.err == nil {
			t.Fatalf("client from another CA: server %v, client %v", srv.err, cli.err)
		}
		srv, cli = handshake(t, ServerTLSConfig(other.Pool(), stranger, nil), ClientTLSConfig(pool, n2, "", nil))
		if !errors.Is(cli.err, ErrPeerRejected) {
			t.Fatalf("server from another CA without name: client %v", cli.err)
		}
		_ = srv
	})
	t.Run("no client certificate", func(t *testing.T) {
		cfg := ClientTLSConfig(pool, n2, "node1", nil)
		cfg.Certificates = nil
		srv, _ := handshake(t, ServerTLSConfig(pool, n1, nil), cfg)
		if srv.err == nil {
			t.Fatal("server accepted a client without certificate")
		}
	})
}
