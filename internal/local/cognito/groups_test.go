package cognito

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/google/go-cmp/cmp"
)

func TestGroups(t *testing.T) {
	ctx := context.Background()
	e := newTestEmulator()
	id, _ := e.CreatePool(testRegion, emailPoolInput())
	seedNumbered(t, e, id, 10)
	c := newTestClient(t, e, testRegion)

	for i := range 7 {
		_, err := c.CreateGroup(ctx, &cip.CreateGroupInput{UserPoolId: &id, GroupName: aws.String(fmt.Sprintf("g%d", i)), Description: aws.String("d"), Precedence: aws.Int32(int32(i))})
		if err != nil {
			t.Fatalf("CreateGroup: %v", err)
		}
	}
	_, err := c.CreateGroup(ctx, &cip.CreateGroupInput{UserPoolId: &id, GroupName: aws.String("g0")})
	if diff := cmp.Diff([]string{"GroupExistsException", "A group with the name g0 already exists."}, []string{apiCode(err), apiMessage(err)}); diff != "" {
		t.Errorf("duplicate group (-want +got):\n%s", diff)
	}

	var names []string
	pages := 0
	gp := cip.NewListGroupsPaginator(c, &cip.ListGroupsInput{UserPoolId: &id, Limit: aws.Int32(3)})
	for gp.HasMorePages() {
		out, err := gp.NextPage(ctx)
		if err != nil {
			t.Fatalf("ListGroups: %v", err)
		}
		pages++
		for _, g := range out.Groups {
			names = append(names, aws.ToString(g.GroupName))
		}
	}
	if diff := cmp.Diff([]string{"g0", "g1", "g2", "g3", "g4", "g5", "g6"}, names); diff != "" || pages != 3 {
		t.Errorf("ListGroups in %d pages (-want +got):\n%s", pages, diff)
	}
	if _, err := c.ListGroups(ctx, &cip.ListGroupsInput{UserPoolId: &id, Limit: aws.Int32(61)}); apiCode(err) != "InvalidParameterException" {
		t.Errorf("ListGroups limit 61: %v", err)
	}

	// Added out of order; listed in user order.
	for _, u := range []string{"u007", "u002", "u005", "u000", "u009"} {
		if _, err := c.AdminAddUserToGroup(ctx, &cip.AdminAddUserToGroupInput{UserPoolId: &id, GroupName: aws.String("g1"), Username: aws.String(u)}); err != nil {
			t.Fatalf("AdminAddUserToGroup %s: %v", u, err)
		}
	}
	c.AdminAddUserToGroup(ctx, &cip.AdminAddUserToGroupInput{UserPoolId: &id, GroupName: aws.String("g4"), Username: aws.String("u005")})
	if _, err := c.AdminRemoveUserFromGroup(ctx, &cip.AdminRemoveUserFromGroupInput{UserPoolId: &id, GroupName: aws.String("g1"), Username: aws.String("u002")}); err != nil {
		t.Fatalf("AdminRemoveUserFromGroup: %v", err)
	}
	var members []string
	up := cip.NewListUsersInGroupPaginator(c, &cip.ListUsersInGroupInput{UserPoolId: &id, GroupName: aws.String("g1"), Limit: aws.Int32(2)})
	for up.HasMorePages() {
		out, err := up.NextPage(ctx)
		if err != nil {
			t.Fatalf("ListUsersInGroup: %v", err)
		}
		members = append(members, usernames(out.Users)...)
	}
	if diff := cmp.Diff([]string{"u000", "u005", "u007", "u009"}, members); diff != "" {
		t.Errorf("ListUsersInGroup (-want +got):\n%s", diff)
	}

	out, err := c.AdminListGroupsForUser(ctx, &cip.AdminListGroupsForUserInput{UserPoolId: &id, Username: aws.String("u005")})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, g := range out.Groups {
		got = append(got, aws.ToString(g.GroupName))
	}
	if diff := cmp.Diff([]string{"g1", "g4"}, got); diff != "" {
		t.Errorf("AdminListGroupsForUser (-want +got):\n%s", diff)
	}

	g, err := c.GetGroup(ctx, &cip.GetGroupInput{UserPoolId: &id, GroupName: aws.String("g4")})
	if err != nil || aws.ToInt32(g.Group.Precedence) != 4 || !g.Group.CreationDate.Equal(testNow) {
		t.Errorf("GetGroup = %+v, %v", g, err)
	}
	if _, err := c.DeleteGroup(ctx, &cip.DeleteGroupInput{UserPoolId: &id, GroupName: aws.String("g4")}); err != nil {
		t.Fatal(err)
	}
	_, err = c.GetGroup(ctx, &cip.GetGroupInput{UserPoolId: &id, GroupName: aws.String("g4")})
	if diff := cmp.Diff([]string{"ResourceNotFoundException", "Group not found."}, []string{apiCode(err), apiMessage(err)}); diff != "" {
		t.Errorf("GetGroup after delete (-want +got):\n%s", diff)
	}
	out, _ = c.AdminListGroupsForUser(ctx, &cip.AdminListGroupsForUserInput{UserPoolId: &id, Username: aws.String("u005")})
	if len(out.Groups) != 1 {
		t.Errorf("u005 groups after DeleteGroup = %d, want 1", len(out.Groups))
	}
}

// TestListUsersInGroupTokenLifetime: a ListUsersInGroup token continues the listing for just
// under an hour; at an hour, or in another group, it is refused as an invalid parameter.
func TestListUsersInGroupTokenLifetime(t *testing.T) {
	ctx := context.Background()
	now := testNow
	e := New(Options{Seed: 42, Clock: func() time.Time { return now }, DisableQuotas: true})
	id, _ := e.CreatePool(testRegion, emailPoolInput())
	seedNumbered(t, e, id, 4)
	c := newTestClient(t, e, testRegion)
	for _, g := range []string{"g", "h"} {
		if _, err := c.CreateGroup(ctx, &cip.CreateGroupInput{UserPoolId: &id, GroupName: aws.String(g)}); err != nil {
			t.Fatal(err)
		}
		for _, u := range []string{"u000", "u001", "u002"} {
			if _, err := c.AdminAddUserToGroup(ctx, &cip.AdminAddUserToGroupInput{UserPoolId: &id, GroupName: aws.String(g), Username: aws.String(u)}); err != nil {
				t.Fatal(err)
			}
		}
	}
	first, err := c.ListUsersInGroup(ctx, &cip.ListUsersInGroupInput{UserPoolId: &id, GroupName: aws.String("g"), Limit: aws.Int32(2)})
	if err != nil || first.NextToken == nil {
		t.Fatalf("first page: %v, token %v", err, first.NextToken)
	}
	page := func(group string) ([]string, error) {
		out, err := c.ListUsersInGroup(ctx, &cip.ListUsersInGroupInput{UserPoolId: &id, GroupName: aws.String(group), Limit: aws.Int32(2), NextToken: first.NextToken})
		if err != nil {
			return nil, err
		}
		return usernames(out.Users), nil
	}
	now = testNow.Add(time.Hour - time.Second)
	if got, err := page("g"); err != nil || !slices.Equal(got, []string{"u002"}) {
		t.Errorf("after 59:59: %v %v, want the next page [u002]", got, err)
	}
	if _, err := page("h"); apiCode(err) != "InvalidParameterException" {
		t.Errorf("another group's token: %v, want InvalidParameterException", err)
	}
	now = testNow.Add(time.Hour)
	if _, err := page("g"); apiCode(err) != "InvalidParameterException" || apiMessage(err) != "Invalid pagination token." {
		t.Errorf("after an hour: %v, want InvalidParameterException: Invalid pagination token.", err)
	}
}
