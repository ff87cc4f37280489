package cognito

import (
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// ImportUploadPath is where ImportUploadHandler expects to be mounted; a PreSignedUrl is
// the public URL, this path, the job id and the signing query parameters.
const ImportUploadPath = "/_local/cognito-import/"

const amzDateFormat = "20060102T150405Z"

// SetPublicURL sets the base URL (scheme://host:port) of the endpoint that serves
// ImportUploadHandler, which the emulator learns only once the stack listens. PreSignedUrls
// rendered before it is set point at http://127.0.0.1.
func (e *Emulator) SetPublicURL(base string) {
	e.imports.mu.Lock()
	defer e.imports.mu.Unlock()
	e.imports.publicURL = strings.TrimRight(base, "/")
}

// signature keys a job's upload URL to its id and dates, so a URL cannot be forged or extended.
func (im *imports) signature(jobID, date, expires string) string {
	m := hmac.New(sha256.New, im.urlKey)
	io.WriteString(m, jobID+"\n"+date+"\n"+expires)
	return hex.EncodeToString(m.Sum(nil))
}

// presign renders a job's PreSignedUrl, valid 15 minutes from created; the caller holds im.mu.
func (im *imports) presign(jobID string, created time.Time) string {
	base := im.publicURL
	if base == "" {
		base = "http://127.0.0.1"
	}
	date := created.UTC().Format(amzDateFormat)
	expires := strconv.Itoa(int(importURLTTL / time.Second))
	q := url.Values{
		"X-Amz-Algorithm":     {"AWS4-HMAC-SHA256"},
		"X-Amz-Date":          {date},
		"X-Amz-Expires":       {expires},
		"X-Amz-SignedHeaders": {"host;x-amz-server-side-encryption"},
		"X-Amz-Signature":     {im.signature(jobID, date, expires)},
	}
	return base + ImportUploadPath + jobID + "?" + q.Encode()
}

// s3Error is S3's XML error body.
type s3Error struct {
	XMLName   xml.Name `xml:"Error"`
	Code      string
	Message   string
	RequestId string
}

func writeS3Error(w http.ResponseWriter, status int, code, msg string) {
	b, _ := xml.Marshal(s3Error{Code: code, Message: msg, RequestId: "local"})
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, xml.Header)
	_, _ = w.Write(b)
}

// ImportUploadHandler serves the PreSignedUrls of import jobs, standing in for the S3 object
// Cognito hands out: a PUT of the CSV with the header `x-amz-server-side-encryption: aws:kms`,
// within 15 minutes of the job's creation on the emulator's clock, up to 100 MB. Mount it at
// ImportUploadPath.
func (e *Emulator) ImportUploadHandler() http.Handler {
	return http.HandlerFunc(e.serveImportUpload)
}

func (e *Emulator) serveImportUpload(w http.ResponseWriter, r *http.Request) {
	im := &e.imports
	id := strings.TrimPrefix(r.URL.Path, ImportUploadPath)
	if r.Method != http.MethodPut {
		w.Header().Set("Allow", http.MethodPut)
		writeS3Error(w, http.StatusMethodNotAllowed, "MethodNotAllowed", "The specified method is not allowed against this resource.")
		return
	}
	q := r.URL.Query()
	date, expires, sig := q.Get("X-Amz-Date"), q.Get("X-Amz-Expires"), q.Get("X-Amz-Signature")
	if !hmac.Equal([]byte(sig), []byte(im.signature(id, date, expires))) {
		writeS3Error(w, http.StatusForbidden, "SignatureDoesNotMatch", "The request signature we calculated does not match the signature you provided. Check your key and signing method.")
		return
	}
	signed, err := time.Parse(amzDateFormat, date)
	secs, err2 := strconv.Atoi(expires)
	if err != nil || err2 != nil || !e.now().Before(signed.Add(time.Duration(secs)*time.Second)) {
		writeS3Error(w, http.StatusForbidden, "AccessDenied", "Request has expired")
		return
	}
	// Cognito's URL is signed with this header, so S3 refuses a PUT without it.
	if r.Header.Get("X-Amz-Server-Side-Encryption") != "aws:kms" {
		writeS3Error(w, http.StatusForbidden, "SignatureDoesNotMatch", "The pre-signed URL requires the header x-amz-server-side-encryption: aws:kms, as in the import guide's curl example.")
		return
	}
	if r.ContentLength > maxImportFile {
		writeS3Error(w, http.StatusBadRequest, "EntityTooLarge", "Your proposed upload exceeds the maximum allowed size")
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxImportFile+1))
	if err != nil {
		writeS3Error(w, http.StatusBadRequest, "IncompleteBody", "You did not provide the number of bytes specified by the Content-Length HTTP header.")
		return
	}
	if len(body) > maxImportFile {
		writeS3Error(w, http.StatusBadRequest, "EntityTooLarge", "Your proposed upload exceeds the maximum allowed size")
		return
	}
	im.mu.Lock()
	j := im.jobs[id]
	if j != nil {
		j.expire(e.now())
	}
	switch {
	case j == nil:
		im.mu.Unlock()
		writeS3Error(w, http.StatusNotFound, "NoSuchKey", "The specified key does not exist.")
		return
	case j.status != jobCreated:
		// The job has read (or dropped) its file; a late upload cannot change what it imports.
		im.mu.Unlock()
		writeS3Error(w, http.StatusForbidden, "AccessDenied", "Access Denied")
		return
	}
	j.file, j.uploaded = body, true
	im.mu.Unlock()
	sum := md5.Sum(body)
	w.Header().Set("ETag", `"`+hex.EncodeToString(sum[:])+`"`)
	w.Header().Set("x-amz-server-side-encryption", "aws:kms")
	w.WriteHeader(http.StatusOK)
}
