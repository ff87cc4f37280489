package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"

	"github.com/cognito-dr/cognito-dr/internal/awsclients"
)

// Exit codes, the same for every command (documented in the README and in `cognito-dr --help`).
const (
	// exitOK: the command did what was asked and found nothing wrong.
	exitOK = 0
	// exitFindings: the command ran, and found problems (failed checks, rejected rows, users that
	// could not be changed) or could not finish its work (an AWS call failed).
	exitFindings = 1
	// exitUsage: a usage or configuration error; nothing was done.
	exitUsage = 2
)

// version is stamped by `make dist` (-ldflags "-X main.version=…"); otherwise it comes from the
// build info (a module version for `go install`, the VCS revision for a build from a checkout).
var version = ""

func versionString() string {
	if version != "" {
		return version
	}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	v := info.Main.Version
	var rev, modified string
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				modified = "-dirty"
			}
		}
	}
	if (v == "" || v == "(devel)") && rev != "" {
		if len(rev) > 12 {
			rev = rev[:12]
		}
		return "devel-" + rev + modified
	}
	if v == "" {
		return "devel"
	}
	return v
}

// usageError is a usage or configuration error: the command exits 2 and has changed nothing.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

// usagef returns a usageError with a formatted message.
func usagef(format string, args ...any) error { return usageError{fmt.Errorf(format, args...)} }

// findingsError means the command ran to the end and found problems: exit 1, message on stderr.
type findingsError struct{ msg string }

func (e findingsError) Error() string { return e.msg }

// helpError carries a command's help, asked for with -h or --help: printed on stdout, exit 0.
type helpError struct{ text string }

func (e helpError) Error() string { return e.text }

// exitCode maps a command's error to the process's exit code.
func exitCode(err error) int {
	var ue usageError
	var he helpError
	switch {
	case err == nil, errors.As(err, &he):
		return exitOK
	case errors.As(err, &ue):
		return exitUsage
	default:
		return exitFindings
	}
}

// flags are a command's flag set and its synopsis for the help.
type flags struct {
	*flag.FlagSet
	synopsis string
}

// newFlags returns a command's flags; parse them with parseFlags.
func newFlags(name, synopsis string) *flags {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return &flags{fs, synopsis}
}

// helpText is a command's help: its synopsis and every flag as --name, the AWS CLI's spelling
// (Go's flag package takes -name too).
func helpText(fs *flags) string {
	var b strings.Builder
	fmt.Fprintf(&b, "usage: cognito-dr %s\n\nflags:\n", fs.synopsis)
	fs.VisitAll(func(f *flag.Flag) {
		kind, usage := flag.UnquoteUsage(f)
		fmt.Fprintf(&b, "  --%s", f.Name)
		if kind != "" {
			fmt.Fprintf(&b, " %s", kind)
		}
		fmt.Fprintf(&b, "\n      %s", usage)
		if f.DefValue != "" && f.DefValue != "false" && f.DefValue != "0" {
			fmt.Fprintf(&b, " (default %q)", f.DefValue)
		}
		b.WriteString("\n")
	})
	return b.String()
}

// parseFlags parses args: -h/--help returns the command's help (helpError: printed on stdout, exit 0); a bad
// flag or a stray argument is a usageError naming it, with the help on how to call it.
func parseFlags(fs *flags, args []string) error {
	err := fs.Parse(args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		return helpError{helpText(fs)}
	case err != nil:
		return usagef("%v (see cognito-dr %s --help)", err, fs.Name())
	case fs.NArg() > 0:
		return usagef("unexpected argument %q (see cognito-dr %s --help)", fs.Arg(0), fs.Name())
	}
	return nil
}

// required names every required flag left empty, in one usage error.
func required(fs *flags, names ...string) error {
	var missing []string
	for _, n := range names {
		if f := fs.Lookup(n); f == nil || f.Value.String() == "" {
			missing = append(missing, "--"+n)
		}
	}
	if len(missing) > 0 {
		return usagef("%s required (see cognito-dr %s --help)", strings.Join(missing, ", "), fs.Name())
	}
	return nil
}

// awsFlags are the AWS CLI's own flags, spelled as it spells them, for every command that calls
// AWS. The SDK's standard settings (AWS_PROFILE, AWS_ENDPOINT_URL, AWS_REGION, the credential
// chain) apply when a flag is not given.
type awsFlags struct {
	profile, endpointURL, output string
}

func (a *awsFlags) register(fs *flags) {
	fs.StringVar(&a.profile, "profile", "", "a named profile from the AWS shared config files (default: AWS_PROFILE or the default chain)")
	fs.StringVar(&a.endpointURL, "endpoint-url", "", "send every AWS call to this URL, e.g. http://127.0.0.1:4566 for make local (default: AWS_ENDPOINT_URL or AWS's endpoints)")
	fs.StringVar(&a.output, "output", "text", "text or json")
}

// check validates the flags' values.
func (a *awsFlags) check() error {
	if a.output != "text" && a.output != "json" {
		return usagef("--output %q: want text or json", a.output)
	}
	return nil
}

func (a *awsFlags) json() bool { return a.output == "json" }

// config loads the SDK configuration with the flags applied.
func (a *awsFlags) config(ctx context.Context) (aws.Config, error) {
	var opts []func(*config.LoadOptions) error
	if a.profile != "" {
		opts = append(opts, config.WithSharedConfigProfile(a.profile))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return cfg, usageError{fmt.Errorf("load AWS configuration: %w", err)}
	}
	if a.endpointURL != "" {
		cfg.BaseEndpoint = aws.String(a.endpointURL)
	}
	return cfg, nil
}

// clients builds the project's SDK clients with the flags applied. S3 is addressed path-style when
// S3_FORCE_PATH_STYLE says so or an endpoint is given (S3 emulators on loopback need it).
func (a *awsFlags) clients(ctx context.Context) (*awsclients.Clients, error) {
	return a.clientsIn(ctx, "")
}

// clientsIn is clients with region, if not empty, as the SDK's default Region.
func (a *awsFlags) clientsIn(ctx context.Context, region string) (*awsclients.Clients, error) {
	cfg, err := a.config(ctx)
	if err != nil {
		return nil, err
	}
	if region != "" {
		cfg.Region = region
	}
	var opts awsclients.Options
	switch v := strings.ToLower(os.Getenv("S3_FORCE_PATH_STYLE")); v {
	case "true", "1":
		opts.S3PathStyle = true
	case "false", "0":
	case "":
		opts.S3PathStyle = a.endpointURL != "" || os.Getenv("AWS_ENDPOINT_URL") != ""
	default:
		return nil, usagef("S3_FORCE_PATH_STYLE=%q is not a boolean", v)
	}
	return awsclients.New(cfg, opts), nil
}
