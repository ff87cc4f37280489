package approval

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strconv"

	"github.com/cognito-dr/cognito-dr/internal/s3stream"
	"github.com/cognito-dr/cognito-dr/internal/snapshot"
)

// pageSize is how many changes one page lists.
const pageSize = 100

// changeList is one page of a plan's changes, as the page shows it.
type changeList struct {
	Rows               []changeRow
	Page, Pages, Total int
	// Prev and Next are links to the neighbouring pages ("" at either end): the signed link
	// with another page number, so its signature still holds.
	Prev, Next string
	// Tampered means the file no longer has the digest the approval binds; Failed that it
	// could not be read. Either way the page offers no Approve button.
	Tampered, Failed bool
}

type changeRow struct {
	Key, Kind, Group string
	Attrs            []attrChange
}

type attrChange struct{ Name, Was, Now string }

// listChanges reads the page the request asks for (?page=N, from 1) of the changes file. It
// streams the whole file, decoding only that page's lines, so that it can also count them and
// check the file's SHA-256 against the one the approval binds.
func (s *Service) listChanges(ctx context.Context, r *http.Request, id string, cf *ChangesFile) *changeList {
	page, err := strconv.Atoi(r.URL.Query().Get("page"))
	if err != nil || page < 1 {
		page = 1
	}
	l := &changeList{Page: page}
	got, err := s.readChanges(ctx, cf, (page-1)*pageSize, l)
	switch {
	case err != nil:
		// The error names the bucket and key, never a user.
		s.log().ErrorContext(ctx, "approval page cannot list the plan's changes", slog.String("approval", id), slog.String("error", err.Error()))
		return &changeList{Page: page, Failed: true}
	case got != cf.Object:
		return &changeList{Page: page, Tampered: true}
	}
	l.Pages = max(1, (l.Total+pageSize-1)/pageSize)
	link := func(n int) string {
		q := r.URL.Query()
		q.Set("page", strconv.Itoa(n))
		return "?" + q.Encode()
	}
	if page > 1 {
		l.Prev = link(min(page-1, l.Pages))
	}
	if page < l.Pages {
		l.Next = link(page + 1)
	}
	return l
}

func (s *Service) readChanges(ctx context.Context, cf *ChangesFile, from int, l *changeList) (s3stream.Object, error) {
	files := s.Files
	if st, ok := s.Store.(*S3Store); ok && files == nil {
		files = st.Client
	}
	if files == nil {
		return s3stream.Object{}, errors.New("no S3 client to read the plan's changes with")
	}
	body, err := s3stream.Open(ctx, files, cf.Bucket, cf.Key)
	if err != nil {
		return s3stream.Object{}, err
	}
	defer body.Close()
	h := s3stream.NewHasher()
	tee := io.TeeReader(body, h)
	err = snapshot.ReadLines(tee, func(raw json.RawMessage) error {
		n := l.Total
		l.Total++
		if n < from || n >= from+pageSize {
			return nil
		}
		var c Change
		if err := json.Unmarshal(raw, &c); err != nil {
			return err
		}
		l.Rows = append(l.Rows, row(c))
		return nil
	})
	if err != nil {
		return s3stream.Object{}, err
	}
	// Whatever follows the gzip stream is part of the file too.
	if _, err := io.Copy(io.Discard, tee); err != nil {
		return s3stream.Object{}, err
	}
	return h.Object(cf.Key), nil
}

// row lists a change's attributes in name order: what they were and what they become.
func row(c Change) changeRow {
	r := changeRow{Key: c.Key, Kind: c.Kind, Group: c.Group}
	was := func(name string) string {
		if v, ok := c.Was[name]; ok {
			return v
		}
		return "(none)"
	}
	for name, v := range c.Set {
		r.Attrs = append(r.Attrs, attrChange{Name: name, Was: was(name), Now: v})
	}
	for _, name := range c.Unset {
		r.Attrs = append(r.Attrs, attrChange{Name: name, Was: was(name), Now: "(removed)"})
	}
	slices.SortFunc(r.Attrs, func(a, b attrChange) int {
		if a.Name < b.Name {
			return -1
		}
		if a.Name > b.Name {
			return 1
		}
		return 0
	})
	return r
}
