package cognito

import cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"

// csvHeader is GetCSVHeader's answer: the standard attributes without sub and identities, the
// pool's custom attributes, then cognito:mfa_enabled and cognito:username. An import CSV must
// carry exactly these columns.
func (p *pool) csvHeader() []string {
	h := make([]string, 0, len(p.defs)+2)
	for _, d := range p.defs {
		if d.name != "sub" && d.name != "identities" {
			h = append(h, d.name)
		}
	}
	return append(h, "cognito:mfa_enabled", "cognito:username")
}

func (e *Emulator) getCSVHeader(region string, body []byte) (any, error) {
	var in cip.GetCSVHeaderInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	p, err := e.pool(region, in.UserPoolId)
	if err != nil {
		return nil, err
	}
	p.mu.RLock()
	defer p.mu.RUnlock()
	return struct {
		UserPoolId string
		CSVHeader  []string
	}{p.id, p.csvHeader()}, nil
}
