package loopback

import (
	"bufio"
	"bytes"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"hash/crc64"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
)

// serveS3 adapts requests to what gofakes3 understands before handing them
// over: virtual-host bucket names and aws-chunked bodies.
func (s *Stack) serveS3(w http.ResponseWriter, r *http.Request) {
	hostBucketToPath(r)
	if err := decodeAWSChunked(r); err != nil {
		err.write(w)
		return
	}
	if partialGet(r) {
		// gofakes3 replays the whole-object checksum headers stored at
		// PutObject on every GET; on a ranged GET the SDK would validate them
		// against the part and fail, so drop them as S3 does.
		w = &dropChecksumHeaders{ResponseWriter: w}
	}
	s.s3.ServeHTTP(w, r)
}

// hostBucketToPath rewrites virtual-host requests (http://bucket.localhost:PORT/key)
// to path style, which is all gofakes3 routes here. Only *.localhost hosts are
// rewritten: an IP address or plain localhost carries no bucket.
func hostBucketToPath(r *http.Request) {
	host := r.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	bucket, ok := strings.CutSuffix(strings.ToLower(host), ".localhost")
	if !ok || bucket == "" {
		return
	}
	prefix := "/" + bucket
	if r.URL.Path == "/" {
		r.URL.Path = prefix
	} else {
		r.URL.Path = prefix + r.URL.Path
	}
	if r.URL.RawPath != "" {
		r.URL.RawPath = prefix + r.URL.RawPath
	}
}

func partialGet(r *http.Request) bool {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return false
	}
	return r.Header.Get("Range") != "" || r.URL.Query().Get("partNumber") != ""
}

type dropChecksumHeaders struct {
	http.ResponseWriter
	wrote bool
}

func (d *dropChecksumHeaders) WriteHeader(code int) {
	if !d.wrote {
		d.wrote = true
		for k := range d.Header() {
			if strings.HasPrefix(strings.ToLower(k), "x-amz-checksum-") {
				d.Header().Del(k)
			}
		}
	}
	d.ResponseWriter.WriteHeader(code)
}

func (d *dropChecksumHeaders) Write(p []byte) (int, error) {
	if !d.wrote {
		d.WriteHeader(http.StatusOK)
	}
	return d.ResponseWriter.Write(p)
}

// maxChunkLine bounds a chunk header or trailer line (hex size plus a
// 64-hex-digit signature, or a checksum trailer) so garbage cannot make us
// buffer without limit.
const maxChunkLine = 4096

// decodeAWSChunked replaces an aws-chunked body (SigV4 streaming, signed or
// unsigned, with or without trailers) by the plain payload, so gofakes3 sees
// an ordinary PUT. gofakes3 v1.2.0 only decodes STREAMING-AWS4-HMAC-SHA256-PAYLOAD
// and only on PutObject, not on UploadPart, and knows nothing of trailers.
//
// Trailing x-amz-checksum-* values are verified (BadDigest on mismatch) and
// moved to request headers, where gofakes3 stores them like checksums sent as
// headers. Chunk signatures are not verified: the stack accepts any
// credentials. The body is buffered in memory, as s3mem keeps it there anyway.
func decodeAWSChunked(r *http.Request) *s3Error {
	sha := r.Header.Get("X-Amz-Content-Sha256")
	encodings := splitTokens(r.Header.Get("Content-Encoding"))
	chunked := false
	for i, e := range encodings {
		if strings.EqualFold(e, "aws-chunked") {
			chunked = true
			encodings = append(encodings[:i:i], encodings[i+1:]...)
			break
		}
	}
	if !chunked && !strings.HasPrefix(sha, "STREAMING-") {
		return nil
	}

	payload, trailers, err := readAWSChunked(bufio.NewReader(r.Body))
	r.Body.Close()
	if err != nil {
		return &s3Error{Status: http.StatusBadRequest, Code: "IncompleteBody", Message: err.Error()}
	}
	if v := r.Header.Get("X-Amz-Decoded-Content-Length"); v != "" {
		if n, err := strconv.Atoi(v); err != nil || n != len(payload) {
			return &s3Error{Status: http.StatusBadRequest, Code: "IncompleteBody",
				Message: fmt.Sprintf("decoded %d bytes, x-amz-decoded-content-length says %s", len(payload), v)}
		}
	}
	for name, value := range trailers {
		algo, ok := strings.CutPrefix(name, "x-amz-checksum-")
		if !ok {
			continue
		}
		if h := newChecksum(algo); h != nil {
			h.Write(payload)
			if got := base64.StdEncoding.EncodeToString(h.Sum(nil)); got != value {
				return &s3Error{Status: http.StatusBadRequest, Code: "BadDigest",
					Message: fmt.Sprintf("the %s you specified did not match the calculated checksum", name)}
			}
		}
		r.Header.Set(name, value)
	}

	r.Body = io.NopCloser(bytes.NewReader(payload))
	r.ContentLength = int64(len(payload))
	r.Header.Set("Content-Length", strconv.Itoa(len(payload)))
	r.Header.Set("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD")
	r.Header.Del("X-Amz-Decoded-Content-Length")
	r.Header.Del("X-Amz-Trailer")
	if len(encodings) == 0 {
		r.Header.Del("Content-Encoding")
	} else {
		r.Header.Set("Content-Encoding", strings.Join(encodings, ","))
	}
	return nil
}

// readAWSChunked reads "<hex-size>[;ext]\r\n<data>\r\n" chunks up to the
// zero-size chunk, then "name:value\r\n" trailers up to a blank line or EOF.
func readAWSChunked(br *bufio.Reader) (payload []byte, trailers map[string]string, err error) {
	var buf bytes.Buffer
	for {
		line, err := readChunkLine(br)
		if err != nil {
			return nil, nil, fmt.Errorf("read aws-chunked header: %w", err)
		}
		sizeHex, _, _ := strings.Cut(line, ";")
		size, err := strconv.ParseInt(strings.TrimSpace(sizeHex), 16, 64)
		if err != nil || size < 0 {
			return nil, nil, fmt.Errorf("bad aws-chunked size %q", sizeHex)
		}
		if size == 0 {
			break
		}
		if _, err := io.CopyN(&buf, br, size); err != nil {
			return nil, nil, fmt.Errorf("read aws-chunked data: %w", err)
		}
		if line, err := readChunkLine(br); err != nil || line != "" {
			return nil, nil, fmt.Errorf("aws-chunked data longer than its size %d", size)
		}
	}
	trailers = map[string]string{}
	for {
		line, err := readChunkLine(br)
		if errors.Is(err, io.EOF) || (err == nil && line == "") {
			return buf.Bytes(), trailers, nil
		}
		if err != nil {
			return nil, nil, fmt.Errorf("read aws-chunked trailer: %w", err)
		}
		name, value, ok := strings.Cut(line, ":")
		if !ok {
			return nil, nil, fmt.Errorf("bad aws-chunked trailer %q", line)
		}
		trailers[strings.ToLower(strings.TrimSpace(name))] = strings.TrimSpace(value)
	}
}

// readChunkLine returns one CRLF- (or LF-) terminated line without its end.
func readChunkLine(br *bufio.Reader) (string, error) {
	var line []byte
	for {
		frag, isPrefix, err := br.ReadLine()
		if err != nil {
			return "", err
		}
		line = append(line, frag...)
		if len(line) > maxChunkLine {
			return "", errors.New("aws-chunked line too long")
		}
		if !isPrefix {
			return string(line), nil
		}
	}
}

func splitTokens(v string) []string {
	var out []string
	for t := range strings.SplitSeq(v, ",") {
		if t = strings.TrimSpace(t); t != "" {
			out = append(out, t)
		}
	}
	return out
}

// crc64NVME is the reversed NVME polynomial, as the SDK uses it.
const crc64NVME = 0x9a6c9329ac4bc9b5

func newChecksum(algo string) hash.Hash {
	switch strings.ToLower(algo) {
	case "crc32":
		return crc32.NewIEEE()
	case "crc32c":
		return crc32.New(crc32.MakeTable(crc32.Castagnoli))
	case "crc64nvme":
		return crc64.New(crc64.MakeTable(crc64NVME))
	case "sha1":
		return sha1.New()
	case "sha256":
		return sha256.New()
	}
	return nil
}

// s3Error is an S3 REST-XML error for failures found before gofakes3 runs.
type s3Error struct {
	XMLName xml.Name `xml:"Error"`
	Status  int      `xml:"-"`
	Code    string   `xml:"Code"`
	Message string   `xml:"Message"`
}

func (e *s3Error) Error() string { return e.Code + ": " + e.Message }

func (e *s3Error) write(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(e.Status)
	io.WriteString(w, xml.Header)
	xml.NewEncoder(w).Encode(e) //nolint:errcheck // the client went away
}
