package cognito

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
)

// TestConcurrentClients runs writers and sharded readers at once; run with -race.
func TestConcurrentClients(t *testing.T) {
	ctx := context.Background()
	e := newTestEmulator()
	id, _ := e.CreatePool(testRegion, emailPoolInput())
	seedNumbered(t, e, id, 300)
	c := newTestClient(t, e, testRegion)
	if _, err := c.CreateGroup(ctx, &cip.CreateGroupInput{UserPoolId: &id, GroupName: aws.String("g")}); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 20 {
				name := fmt.Sprintf("w%d-%d@example.com", w, i)
				if _, err := c.AdminCreateUser(ctx, &cip.AdminCreateUserInput{UserPoolId: &id, Username: &name, MessageAction: types.MessageActionTypeSuppress}); err != nil {
					t.Error(err)
				}
				old := fmt.Sprintf("u%03d", w*50+i)
				c.AdminAddUserToGroup(ctx, &cip.AdminAddUserToGroupInput{UserPoolId: &id, GroupName: aws.String("g"), Username: &old})
				c.AdminDisableUser(ctx, &cip.AdminDisableUserInput{UserPoolId: &id, Username: &old})
				if i%5 == 0 {
					c.AdminDeleteUser(ctx, &cip.AdminDeleteUserInput{UserPoolId: &id, Username: &old})
				}
			}
		}()
	}
	for s := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p := cip.NewListUsersPaginator(c, &cip.ListUsersInput{UserPoolId: &id, Filter: aws.String(fmt.Sprintf(`sub ^= "%x"`, s)), Limit: aws.Int32(7)})
			seen := map[string]bool{}
			for p.HasMorePages() {
				out, err := p.NextPage(ctx)
				if err != nil {
					t.Error(err)
					return
				}
				for _, u := range out.Users {
					if seen[aws.ToString(u.Username)] {
						t.Errorf("shard %x: %s listed twice", s, aws.ToString(u.Username))
					}
					seen[aws.ToString(u.Username)] = true
				}
			}
		}()
	}
	wg.Wait()
	total := 0
	p := cip.NewListUsersPaginator(c, &cip.ListUsersInput{UserPoolId: &id})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		total += len(out.Users)
	}
	if want := 300 + 80 - 16; total != want {
		t.Errorf("users after the run = %d, want %d", total, want)
	}
}
