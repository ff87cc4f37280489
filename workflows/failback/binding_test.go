package failback_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/google/go-cmp/cmp"

	"github.com/cognito-dr/cognito-dr/internal/csvbuild"
	"github.com/cognito-dr/cognito-dr/internal/export"
	"github.com/cognito-dr/cognito-dr/internal/local/asl"
	"github.com/cognito-dr/cognito-dr/workflows/failback"
)

// TestFailbackRefusesATamperedPlan: each kind of file a step reads after the approval is changed
// in S3 right before the first step that reads it runs (after the approval, except for the first
// case). That step fails with PlanTampered and neither pool changes, user by user, from what it
// was right before the step; the operators are told nothing was changed by it.
func TestFailbackRefusesATamperedPlan(t *testing.T) {
	tests := []struct {
		name string
		// task is the placeholder of the step that must refuse the file.
		task, state string
		file        func(failback.Plan) string
	}{
		{"actions before the approval is requested", "RequestApprovalFunctionArn", "RequestApproval", func(p failback.Plan) string { return p.Prefix + failback.ActionsFile }},
		{"import CSV part", "UploadImportFunctionArn", "ImportParts", func(p failback.Plan) string { return p.Prefix + failback.ImportDir + "users-0001.csv" }},
		{"actions", "ApplyChangesFunctionArn", "ApplyChanges", func(p failback.Plan) string { return p.Prefix + failback.ActionsFile }},
		{"users created by API", "ApplyChangesFunctionArn", "ApplyChanges", func(p failback.Plan) string { return p.Prefix + failback.ImportUsersFile }},
		{"rejects report", "ApplyChangesFunctionArn", "ApplyChanges", func(p failback.Plan) string { return p.Prefix + failback.ImportDir + csvbuild.RejectsFile }},
		{"disable list", "DisableUsersFunctionArn", "DisableDrUsers", func(p failback.Plan) string { return p.Prefix + failback.DRDir + export.UsersFile }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			var before map[string]string
			var tampered string
			f.beforeTask = map[string]func(json.RawMessage){tt.task: func(in json.RawMessage) {
				var st struct {
					Plan    failback.Plan `json:"plan"`
					Payload *struct {
						Plan failback.Plan `json:"plan"`
					} `json:"Payload"`
				}
				if err := json.Unmarshal(in, &st); err != nil {
					t.Error(err)
					return
				}
				p := st.Plan
				if st.Payload != nil {
					p = st.Payload.Plan
				}
				tampered = tt.file(p)
				f.tamper(tampered)
				before = f.pools()
			}}
			x := f.start("failback-tampered", nil)
			if tt.state != "RequestApproval" {
				f.decide(f.approvalLink(x), "approve")
			}
			f.wait(x)
			if x.Status() != asl.StatusFailed || x.ErrorName() != "PlanTampered" || !strings.Contains(x.Cause(), tampered) ||
				!strings.Contains(x.Cause(), "changed nothing") {
				t.Fatalf("status %s %s %s; want FAILED PlanTampered naming %s; last events:\n%s", x.Status(), x.ErrorName(), x.Cause(), tampered, lastEvents(x, 6))
			}
			path := x.Path()
			if i := slices.Index(path, tt.state); i < 0 || !slices.Equal(path[i+1:], []string{"NotifyFailed", "FailbackFailed"}) {
				t.Errorf("path %v, want %s then NotifyFailed, FailbackFailed", path, tt.state)
			}
			if diff := cmp.Diff(before, f.pools()); diff != "" {
				t.Errorf("the pools changed after the plan was tampered with (-before +after):\n%s", diff)
			}
			msgs := f.stack.AWS.SNS().Messages()
			last := msgs[len(msgs)-1]
			step := strings.TrimSuffix(tt.task, "FunctionArn")
			if step == "DisableUsers" {
				step = "DisableDrUsers"
			}
			if !strings.Contains(last.Subject, "PlanTampered") || !strings.Contains(last.Message, step+" changed nothing") {
				t.Errorf("last notification %q:\n%s\nwant PlanTampered and that %s changed nothing", last.Subject, last.Message, step)
			}
		})
	}
}

// tamper rewrites one file of the plan in S3 as someone with write access to the bucket might:
// one user's given name changes (or, in a file without one, its first line is repeated).
func (f *fixture) tamper(key string) {
	f.t.Helper()
	ctx := context.Background()
	body, err := f.stack.ReadObject(ctx, f.sc.BucketRegion, f.sc.Bucket, key)
	if err != nil {
		f.t.Fatalf("tamper with %s: %v", key, err)
	}
	zipped := strings.HasSuffix(key, ".gz")
	if zipped {
		zr, err := gzip.NewReader(bytes.NewReader(body))
		if err != nil {
			f.t.Fatal(err)
		}
		if body, err = io.ReadAll(zr); err != nil {
			f.t.Fatal(err)
		}
	}
	text := string(body)
	switch {
	case strings.Contains(text, "Osaka"):
		text = strings.Replace(text, "Osaka", "Intruder", 1)
	default:
		first, _, _ := strings.Cut(text, "\n")
		text += first + "\n"
	}
	body = []byte(text)
	if zipped {
		var b bytes.Buffer
		zw := gzip.NewWriter(&b)
		zw.Write(body)
		zw.Close()
		body = b.Bytes()
	}
	if _, err := f.stack.Clients.S3(f.sc.BucketRegion).PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(f.sc.Bucket), Key: aws.String(key), Body: bytes.NewReader(body)}); err != nil {
		f.t.Fatal(err)
	}
}

// pools describes every user of both pools: status, enabled, attributes and groups.
func (f *fixture) pools() map[string]string {
	f.t.Helper()
	ctx := context.Background()
	out := map[string]string{}
	for _, pool := range []struct{ region, id string }{{f.sc.Tokyo.Region, f.sc.TokyoID}, {f.sc.Osaka.Region, f.sc.OsakaID}} {
		c := f.stack.Clients.Cognito(pool.region)
		groups := map[string][]string{}
		gp := cip.NewListGroupsPaginator(c, &cip.ListGroupsInput{UserPoolId: aws.String(pool.id)})
		for gp.HasMorePages() {
			page, err := gp.NextPage(ctx)
			if err != nil {
				f.t.Fatal(err)
			}
			for _, g := range page.Groups {
				mp := cip.NewListUsersInGroupPaginator(c, &cip.ListUsersInGroupInput{UserPoolId: aws.String(pool.id), GroupName: g.GroupName})
				for mp.HasMorePages() {
					m, err := mp.NextPage(ctx)
					if err != nil {
						f.t.Fatal(err)
					}
					for _, u := range m.Users {
						groups[aws.ToString(u.Username)] = append(groups[aws.ToString(u.Username)], aws.ToString(g.GroupName))
					}
				}
			}
		}
		up := cip.NewListUsersPaginator(c, &cip.ListUsersInput{UserPoolId: aws.String(pool.id)})
		for up.HasMorePages() {
			page, err := up.NextPage(ctx)
			if err != nil {
				f.t.Fatal(err)
			}
			for _, u := range page.Users {
				var attrs []string
				for _, a := range u.Attributes {
					attrs = append(attrs, aws.ToString(a.Name)+"="+aws.ToString(a.Value))
				}
				slices.Sort(attrs)
				g := groups[aws.ToString(u.Username)]
				slices.Sort(g)
				out[pool.id+" "+aws.ToString(u.Username)] = fmt.Sprintf("%s enabled=%v %v groups=%v", u.UserStatus, u.Enabled, attrs, g)
			}
		}
	}
	return out
}
