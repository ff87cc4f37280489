package importcsv

import (
	"strconv"

	"errors"
	"github.com/cognito-dr/cognito-dr/internal/snapshot"
	"io"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestEscapeRoundTrip(t *testing.T) {
	tests := [][]string{
		{"a,b", "", ",", ",,", "trailing,", ",leading", "plain"},
		{"", "", ""},
		{"東京都千代田区1-1, 丸の内", "ü,é", "x"},
	}
	for _, vals := range tests {
		line := appendLine(nil, vals)
		if strings.Count(string(line), "\n") != 1 {
			t.Errorf("appendLine(%q) = %q", vals, line)
		}
		got := splitLine([]byte(strings.TrimSuffix(string(line), "\n")), nil)
		if diff := cmp.Diff(vals, got); diff != "" {
			t.Errorf("round trip of %q via %q (-want +got):\n%s", vals, line, diff)
		}
	}
	if got, want := string(appendLine(nil, []string{"1-1 Chiyoda, Tokyo", "x"})), "1-1 Chiyoda\\, Tokyo,x\n"; got != want {
		t.Errorf("appendLine = %q, want %q", got, want)
	}
	// A backslash before anything but a comma is an ordinary character when reading.
	if diff := cmp.Diff([]string{`a\b`, `c\`}, splitLine([]byte(`a\b,c\`), nil)); diff != "" {
		t.Errorf("splitLine (-want +got):\n%s", diff)
	}
}

func TestRoundTripThroughWriterAndReader(t *testing.T) {
	tg := mustTarget(t, classicHeader, classicPool())
	users := []snapshot.User{
		classicUser("alice", "address", "1-1 Chiyoda, Chiyoda-ku, Tokyo, Japan", "nickname", ",,"),
		classicUser("bob", "name", "Smith, Bob", "birthdate", "1990-12-31"),
	}
	parts := &memParts{}
	w := NewWriter(tg, parts.open)
	var rows []Row
	for _, u := range users {
		r := tg.Row(u)
		rows = append(rows, r)
		if err := w.Write(r); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := w.Close(); err != nil {
		t.Fatal(err)
	}
	rd, err := NewReader(tg, strings.NewReader(parts.bufs[0].String()))
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range rows {
		got, err := rd.Read()
		if err != nil {
			t.Fatal(err)
		}
		want.Line = i + 2
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("row %d (-want +got):\n%s", i, diff)
		}
	}
	if _, err := rd.Read(); err != io.EOF {
		t.Errorf("Read at end = %v, want io.EOF", err)
	}
}

func TestReaderHeader(t *testing.T) {
	tg := mustTarget(t, tokyoHeader, tokyoPool())
	without := func(drop string) []string {
		var h []string
		for _, c := range tokyoHeader {
			if c != drop {
				h = append(h, c)
			}
		}
		return h
	}
	tests := []struct {
		name string
		file string
		want *HeaderError // nil: header accepted
	}{
		{"the pool's header", strings.Join(tokyoHeader, ",") + "\n", nil},
		{"columns in another order (Cognito: order doesn't matter)",
			strings.Join(append([]string{"cognito:username"}, without("cognito:username")...), ",") + "\n", nil},
		{"no trailing newline", strings.Join(tokyoHeader, ","), nil},
		{"CRLF", strings.Join(tokyoHeader, ",") + "\r\n", nil},
		{"missing custom attribute and extra one",
			strings.Join(append(without("custom:tenant"), "custom:plan"), ",") + "\n",
			&HeaderError{Missing: []string{"custom:tenant"}, Extra: []string{"custom:plan"}}},
		{"header of another pool (no custom:tenant, no cognito:mfa_enabled)",
			strings.Join(without("custom:tenant")[:len(tokyoHeader)-3], ",") + ",cognito:username\n",
			&HeaderError{Missing: []string{"custom:tenant", "cognito:mfa_enabled"}}},
		{"duplicate column", strings.Join(append(tokyoHeader, "email"), ",") + "\n", &HeaderError{Duplicate: []string{"email"}}},
		{"byte order mark", "\xef\xbb\xbf" + strings.Join(tokyoHeader, ",") + "\n", &HeaderError{BOM: true}},
		{"empty file", "", &HeaderError{Empty: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewReader(tg, strings.NewReader(tt.file))
			if tt.want == nil {
				if err != nil {
					t.Fatalf("NewReader: %v", err)
				}
				return
			}
			var herr *HeaderError
			if !errors.As(err, &herr) {
				t.Fatalf("NewReader error = %v, want a *HeaderError", err)
			}
			if diff := cmp.Diff(tt.want, herr); diff != "" {
				t.Errorf("HeaderError (-want +got):\n%s", diff)
			}
			for _, c := range append(tt.want.Missing, tt.want.Extra...) {
				if !strings.Contains(err.Error(), c) {
					t.Errorf("error %q does not name column %s", err, c)
				}
			}
		})
	}
}

func TestReaderReordersColumnsAndNumbersLines(t *testing.T) {
	tg := mustTarget(t, classicHeader, classicPool())
	// cognito:username first, as in the developer guide's sample file.
	header := append([]string{"cognito:username"}, classicHeader[:len(classicHeader)-1]...)
	file := handFile(header,
		handLine(header, "cognito:username", "John", "given_name", "John", "family_name", "Doe", "name", "John Doe",
			"email", "johndoe@example.com", "email_verified", "TRUE", "birthdate", "02/01/1985",
			"phone_number", "+12345550100", "phone_number_verified", "TRUE", "address", "123 Any Street", "cognito:mfa_enabled", "FALSE"),
		handLine(header, "cognito:username", "Jane", "name", "Jane Roe", "email", "janeroe@example.com",
			"email_verified", "TRUE", "cognito:mfa_enabled", "FALSE")) + "\r\n"
	rd, err := NewReader(tg, strings.NewReader(strings.ReplaceAll(file, "\n", "\r\n")))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for {
		r, err := rd.Read()
		if err == io.EOF {
			break
		}
		var rerr *RowError
		if errors.As(err, &rerr) {
			got = append(got, rerr.Problem.Reason+"@"+itoa(rerr.Line))
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if ps := tg.Check(r); ps != nil {
			t.Errorf("line %d: %v", r.Line, ps)
		}
		got = append(got, tg.Value(r, ColUsername)+"/"+tg.Value(r, "birthdate")+"@"+itoa(r.Line))
	}
	want := []string{"John/02/01/1985@2", "Jane/@3", "bad_column_count@4"} // the blank CRLF line
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("rows (-want +got):\n%s", diff)
	}
}

func TestReaderVeryLongLine(t *testing.T) {
	tg := mustTarget(t, classicHeader, classicPool())
	ok := handLine(classicHeader, "cognito:username", "amy", "name", "Amy", "email", "amy@example.com",
		"email_verified", "true", "cognito:mfa_enabled", "false")
	file := handFile(classicHeader, handLine(classicHeader, "cognito:username", "huge", "address", strings.Repeat("z", 200_000)), ok)
	got, s := validateCSV(t, tg, file)
	if len(got) != 1 || got[0].Reason != ReasonRowTooLong || got[0].Line != 2 {
		t.Errorf("rejects = %+v, want one row_too_long on line 2", got)
	}
	if s.Accepted != 1 {
		t.Errorf("accepted %d rows, want the line after the long one", s.Accepted)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
