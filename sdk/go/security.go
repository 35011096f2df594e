package cairn

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"

	cairnv1 "github.com/cairn-dev/cairn/gen/go/cairn/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
)

// TLSOptions connects with TLS: the CA the members' certificates chain to and, for members
// started with --client-cert-auth, the client's own certificate and key. Each may be a
// file or the PEM bytes; unset ones default to CAIRN_CACERT, CAIRN_CERT and CAIRN_KEY (file
// paths, as the CLI reads them).
type TLSOptions struct {
	// CAFile is the PEM file of the CA (default CAIRN_CACERT); CA, its bytes, instead.
	// Without either, the system's trusted roots check the member's certificate.
	CAFile string
	CA     []byte
	// CertFile is the PEM file of the client certificate (default CAIRN_CERT); Cert, its
	// bytes, instead. It needs a key.
	CertFile string
	Cert     []byte
	// KeyFile is the PEM file of the client certificate's key (default CAIRN_KEY); Key, its
	// bytes, instead.
	KeyFile string
	Key     []byte
	// ServerName is the name to check the member's certificate against, when it is not the
	// address's host.
	ServerName string
}

// tlsEnvSet reports whether the environment asks for TLS without Config.TLS.
func tlsEnvSet() bool {
	return os.Getenv("CAIRN_CACERT") != "" || os.Getenv("CAIRN_CERT") != "" || os.Getenv("CAIRN_KEY") != ""
}

func pemOf(bytes []byte, file, env, what string) ([]byte, error) {
	if bytes != nil {
		return bytes, nil
	}
	if file == "" {
		file = os.Getenv(env)
	}
	if file == "" {
		return nil, nil
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("cannot read the %s file: %w", what, err)
	}
	return b, nil
}

// transportCredentials returns the credentials the config (or the environment) asks for,
// and whether they are TLS.
func (c Config) transportCredentials() (credentials.TransportCredentials, bool, error) {
	if c.TLS == nil && !tlsEnvSet() {
		return insecure.NewCredentials(), false, nil
	}
	o := TLSOptions{}
	if c.TLS != nil {
		o = *c.TLS
	}
	ca, err := pemOf(o.CA, o.CAFile, "CAIRN_CACERT", "CA")
	if err != nil {
		return nil, true, err
	}
	cert, err := pemOf(o.Cert, o.CertFile, "CAIRN_CERT", "client certificate")
	if err != nil {
		return nil, true, err
	}
	key, err := pemOf(o.Key, o.KeyFile, "CAIRN_KEY", "client key")
	if err != nil {
		return nil, true, err
	}
	cfg := &tls.Config{ServerName: o.ServerName, MinVersion: tls.VersionTLS12}
	if ca != nil {
		cfg.RootCAs = x509.NewCertPool()
		if !cfg.RootCAs.AppendCertsFromPEM(ca) {
			return nil, true, errors.New("the CA holds no PEM certificate")
		}
	}
	if (cert == nil) != (key == nil) {
		return nil, true, errors.New("a client certificate needs its key, and a key its certificate")
	}
	if cert != nil {
		pair, err := tls.X509KeyPair(cert, key)
		if err != nil {
			return nil, true, fmt.Errorf("client certificate: %w", err)
		}
		cfg.Certificates = []tls.Certificate{pair}
	}
	return credentials.NewTLS(cfg), true, nil
}

// connectHint explains a member that does not connect: plaintext against TLS (or the
// reverse) looks like a dead member.
func connectHint(secure bool) string {
	if secure {
		return "connecting with TLS: check that the member serves TLS, that its certificate chains to the CA given, and that a client certificate is given if it requires one"
	}
	return "connecting with plaintext: if the member serves TLS, set Config.TLS or CAIRN_CACERT, and a client certificate if it requires one"
}

// tokenMetadataKey is the metadata key Cairn (like etcd) reads the token from.
const tokenMetadataKey = "token"

const authenticateMethod = "/cairn.v1.AuthService/Authenticate"

// userCredentials returns the user and password from the config, else CAIRN_USER (NAME or
// NAME:PASSWORD) and CAIRN_PASSWORD, as the CLI reads them; ok is false without a user.
func (c Config) userCredentials() (user, password string, ok bool, err error) {
	user, password = c.User, c.Password
	if user == "" {
		user = os.Getenv("CAIRN_USER")
		if name, pw, found := strings.Cut(user, ":"); found && password == "" {
			user, password = name, pw
		}
	}
	if user == "" {
		return "", "", false, nil
	}
	if password == "" {
		pw, set := os.LookupEnv("CAIRN_PASSWORD")
		if !set {
			return "", "", false, fmt.Errorf("user %s needs a password (Config.Password or CAIRN_PASSWORD)", user)
		}
		password = pw
	}
	return user, password, true, nil
}

// tokenSource authenticates on first use and attaches the token to every call (through
// the interceptors of each member's connection); a call whose token a member refuses
// (expired, revoked) authenticates again and is sent once more: nothing was applied.
// Tokens are valid on every member, so one token serves the whole cluster.
type tokenSource struct {
	user, password string

	mu    sync.Mutex
	token string
}

// get returns the token, authenticating through cc when there is none.
func (s *tokenSource) get(ctx context.Context, cc *grpc.ClientConn) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.token != "" {
		return s.token, nil
	}
	resp, err := cairnv1.NewAuthServiceClient(cc).Authenticate(ctx, &cairnv1.AuthenticateRequest{Name: s.user, Password: s.password})
	if err != nil {
		return "", err
	}
	s.token = resp.GetToken()
	return s.token, nil
}

// current is the token in use, "" before the first authentication.
func (s *tokenSource) current() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.token
}

// invalidate forgets token, unless a newer one has replaced it already.
func (s *tokenSource) invalidate(token string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.token == token {
		s.token = ""
	}
}

func (s *tokenSource) with(ctx context.Context, cc *grpc.ClientConn) (context.Context, string, error) {
	tok, err := s.get(ctx, cc)
	if err != nil {
		return ctx, "", err
	}
	return metadata.AppendToOutgoingContext(ctx, tokenMetadataKey, tok), tok, nil
}

func (s *tokenSource) unary(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	if method == authenticateMethod {
		return invoker(ctx, method, req, reply, cc, opts...)
	}
	tctx, tok, err := s.with(ctx, cc)
	if err != nil {
		return err
	}
	err = invoker(tctx, method, req, reply, cc, opts...)
	if !tokenRejected(toError(err, "")) {
		return err
	}
	s.invalidate(tok)
	if tctx, _, err = s.with(ctx, cc); err != nil {
		return err
	}
	return invoker(tctx, method, req, reply, cc, opts...)
}

func (s *tokenSource) stream(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
	tctx, _, err := s.with(ctx, cc)
	if err != nil {
		return nil, err
	}
	return streamer(tctx, desc, cc, method, opts...)
}

// tokenRejected reports whether e says the token was refused (nothing was applied).
func tokenRejected(e *Error) bool {
	return e != nil && e.CairnCode == cairnv1.ErrorCode_ERROR_CODE_INVALID_AUTH_TOKEN
}
