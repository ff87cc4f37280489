package cognito

import (
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
)

// attrDef is one attribute of a pool's schema.
type attrDef struct {
	name     string
	dataType types.AttributeDataType
	mutable  bool
	required bool
	devOnly  bool
	custom   bool
	minLen   int
	maxLen   int
	minVal   *float64
	maxVal   *float64
	// constraints as declared, echoed by DescribeUserPool
	strC *types.StringAttributeConstraintsType
	numC *types.NumberAttributeConstraintsType
}

// standardAttributes are the attributes every pool has, in the order DescribeUserPool lists them.
// The CSV header uses the same order without sub and identities.
var standardAttributes = []string{
	"sub", "name", "given_name", "family_name", "middle_name", "nickname", "preferred_username",
	"profile", "picture", "website", "email", "email_verified", "gender", "birthdate", "zoneinfo",
	"locale", "phone_number", "phone_number_verified", "address", "updated_at", "identities",
}

func standardDef(name string) *attrDef {
	d := &attrDef{name: name, dataType: types.AttributeDataTypeString, mutable: true, minLen: 0, maxLen: 2048}
	switch name {
	case "sub":
		d.mutable, d.required, d.minLen = false, true, 1
	case "email_verified", "phone_number_verified":
		d.dataType = types.AttributeDataTypeBoolean
	case "birthdate":
		d.minLen, d.maxLen = 10, 10
	case "updated_at":
		d.dataType = types.AttributeDataTypeNumber
		zero := 0.0
		d.minVal = &zero
		d.numC = &types.NumberAttributeConstraintsType{MinValue: aws.String("0")}
	}
	if d.dataType == types.AttributeDataTypeString {
		d.strC = &types.StringAttributeConstraintsType{MinLength: aws.String(strconv.Itoa(d.minLen)), MaxLength: aws.String(strconv.Itoa(d.maxLen))}
	}
	return d
}

func isStandard(name string) bool {
	for _, s := range standardAttributes {
		if s == name {
			return true
		}
	}
	return false
}

// buildSchema merges the CreateUserPool Schema into the standard attributes. A Schema entry with a
// standard name changes that attribute; any other name becomes "custom:<name>".
func buildSchema(in []types.SchemaAttributeType) ([]*attrDef, error) {
	defs := make([]*attrDef, 0, len(standardAttributes)+len(in))
	byName := map[string]*attrDef{}
	for _, n := range standardAttributes {
		d := standardDef(n)
		defs = append(defs, d)
		byName[n] = d
	}
	customs := 0
	for _, s := range in {
		name := aws.ToString(s.Name)
		if name == "" {
			return nil, errInvalidParameter("1 validation error detected: Value null at 'schema.member.name' failed to satisfy constraint: Member must not be null")
		}
		if d, ok := byName[name]; ok {
			if name == "sub" {
				continue
			}
			if s.Required != nil {
				d.required = *s.Required
			}
			if s.Mutable != nil {
				d.mutable = *s.Mutable
			}
			if c := s.StringAttributeConstraints; c != nil && d.dataType == types.AttributeDataTypeString {
				applyStringConstraints(d, c)
			}
			continue
		}
		name = strings.TrimPrefix(name, "custom:")
		if utf8.RuneCountInString(name) > 20 {
			return nil, errInvalidParameter("1 validation error detected: Value '%s' at 'schema.member.name' failed to satisfy constraint: Member must have length less than or equal to 20", name)
		}
		if aws.ToBool(s.Required) {
			return nil, errInvalidParameter("Required custom attributes are not supported currently.")
		}
		full := "custom:" + name
		if _, dup := byName[full]; dup {
			return nil, errInvalidParameter("Existing attribute already has name %s.", full)
		}
		customs++
		if customs > 50 {
			return nil, errInvalidParameter("The user pool cannot have more than 50 custom attributes.")
		}
		dt := s.AttributeDataType
		if dt == "" {
			dt = types.AttributeDataTypeString
		}
		d := &attrDef{name: full, dataType: dt, mutable: s.Mutable == nil || *s.Mutable, devOnly: aws.ToBool(s.DeveloperOnlyAttribute), custom: true, maxLen: 2048}
		switch dt {
		case types.AttributeDataTypeString:
			d.strC = &types.StringAttributeConstraintsType{}
			if c := s.StringAttributeConstraints; c != nil {
				applyStringConstraints(d, c)
			}
		case types.AttributeDataTypeNumber:
			d.numC = &types.NumberAttributeConstraintsType{}
			if c := s.NumberAttributeConstraints; c != nil {
				d.numC = &types.NumberAttributeConstraintsType{MinValue: c.MinValue, MaxValue: c.MaxValue}
				d.minVal = parseFloatPtr(c.MinValue)
				d.maxVal = parseFloatPtr(c.MaxValue)
			}
		case types.AttributeDataTypeBoolean, types.AttributeDataTypeDatetime:
		default:
			return nil, errInvalidParameter("1 validation error detected: Value '%s' at 'schema.member.attributeDataType' failed to satisfy constraint: Member must satisfy enum value set: [Number, String, Boolean, DateTime]", dt)
		}
		defs = append(defs, d)
		byName[full] = d
	}
	return defs, nil
}

func applyStringConstraints(d *attrDef, c *types.StringAttributeConstraintsType) {
	d.strC = &types.StringAttributeConstraintsType{MinLength: c.MinLength, MaxLength: c.MaxLength}
	if v, err := strconv.Atoi(aws.ToString(c.MinLength)); err == nil {
		d.minLen = v
	}
	if v, err := strconv.Atoi(aws.ToString(c.MaxLength)); err == nil {
		d.maxLen = v
	}
}

func parseFloatPtr(s *string) *float64 {
	if s == nil {
		return nil
	}
	v, err := strconv.ParseFloat(*s, 64)
	if err != nil {
		return nil
	}
	return &v
}

func (d *attrDef) schemaType() types.SchemaAttributeType {
	return types.SchemaAttributeType{
		Name:                       aws.String(d.name),
		AttributeDataType:          d.dataType,
		DeveloperOnlyAttribute:     aws.Bool(d.devOnly),
		Mutable:                    aws.Bool(d.mutable),
		Required:                   aws.Bool(d.required),
		StringAttributeConstraints: d.strC,
		NumberAttributeConstraints: d.numC,
	}
}

// checkValue validates one attribute value against its definition, with AWS's schema messages.
func (d *attrDef) checkValue(v string) *apiError {
	switch d.dataType {
	case types.AttributeDataTypeString:
		n := utf8.RuneCountInString(v)
		if n > d.maxLen {
			return errSchema("%s: String must be no longer than %d characters", d.name, d.maxLen)
		}
		if n < d.minLen {
			return errSchema("%s: String must be no shorter than %d characters", d.name, d.minLen)
		}
	case types.AttributeDataTypeBoolean:
		if v != "true" && v != "false" {
			return errSchema("%s: Attribute value must be a boolean (true or false)", d.name)
		}
	case types.AttributeDataTypeNumber:
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return errSchema("%s: Number must be a valid number", d.name)
		}
		if d.minVal != nil && f < *d.minVal {
			return errSchema("%s: Number must be no less than %s", d.name, strconv.FormatFloat(*d.minVal, 'f', -1, 64))
		}
		if d.maxVal != nil && f > *d.maxVal {
			return errSchema("%s: Number must be no greater than %s", d.name, strconv.FormatFloat(*d.maxVal, 'f', -1, 64))
		}
	}
	switch d.name {
	case "email":
		if !looksLikeEmail(v) {
			return errInvalidParameter("Invalid email address format.")
		}
	case "phone_number":
		if !looksLikePhone(v) {
			return errInvalidParameter("Invalid phone number format.")
		}
	}
	return nil
}

func looksLikeEmail(s string) bool {
	at := strings.IndexByte(s, '@')
	return at > 0 && at < len(s)-1 && !strings.ContainsAny(s, " \t\r\n") && strings.Count(s, "@") == 1
}

// looksLikePhone checks E.164: a plus sign and up to 15 digits.
func looksLikePhone(s string) bool {
	if len(s) < 3 || len(s) > 16 || s[0] != '+' {
		return false
	}
	for _, c := range s[1:] {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
