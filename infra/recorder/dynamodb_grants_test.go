package recorder_test

import (
	"testing"

	"github.com/voicerec/backend/infra/recorder"
	"github.com/voicerec/backend/internal/dynamo"
)

// dynamoCall is one DynamoDB action a function's code makes on one table:
// the IAM action names the operation (a transaction's items need their own
// PutItem, UpdateItem, DeleteItem or ConditionCheckItem; a BatchGetItem
// needs dynamodb:BatchGetItem on every table it reads).
type dynamoCall struct {
	action, table, why string
}

// dynamoCalls are the calls each function's code makes, by table: a grant
// of the action on another table does not cover them (IAM checks a batch
// or transaction's action against each table it touches).
var dynamoCalls = map[string][]dynamoCall{
	recorder.APIFunctionID: {
		{"dynamodb:BatchGetItem", dynamo.SessionsTable, "GET /v1/recordings/{id} reads the session and the recording together (Store.getWithSession)"},
		{"dynamodb:BatchGetItem", dynamo.RecordingsTable, "the same read; search's results; a user's shares' recordings"},
		{"dynamodb:BatchGetItem", dynamo.SearchTable, "search's snippet segments beside its results (Store.searchWave)"},
		{"dynamodb:ConditionCheckItem", dynamo.SessionsTable, "every guarded write checks the session in its transaction (sessionCheck)"},
		{"dynamodb:PutItem", dynamo.SessionsTable, "sign-in and refresh write device sessions in a transaction"},
		{"dynamodb:PutItem", dynamo.RecordingsTable, "create's transaction"},
		{"dynamodb:UpdateItem", dynamo.UsersTable, "create's transaction reserves quota"},
		{"dynamodb:UpdateItem", dynamo.RecordingsTable, "rename, trash, restore"},
		{"dynamodb:GetItem", dynamo.SearchTable, "an index write reads the field's previous terms"},
		{"dynamodb:Query", dynamo.SearchTable, "search reads a term's postings"},
		{"dynamodb:PutItem", dynamo.SharesTable, "POST /v1/recordings/{id}/shares"},
		{"dynamodb:Query", dynamo.TranscriptsTable, "GET /v1/recordings/{id}/transcript"},
	},
	recorder.EventsFunctionID: {
		{"dynamodb:GetItem", dynamo.RecordingsTable, "every converge reads the record"},
		{"dynamodb:UpdateItem", dynamo.RecordingsTable, "confirm, reject, close"},
		{"dynamodb:UpdateItem", dynamo.UsersTable, "confirm and reject settle the quota; a transcript charges the allowance"},
		{"dynamodb:DeleteItem", dynamo.RecordingsTable, "a purge finishes"},
		{"dynamodb:GetItem", dynamo.UsersTable, "a transcript start reads the user's switch"},
		{"dynamodb:GetItem", dynamo.SearchTable, "the name reindex and a completed transcript replace the previous terms"},
		{"dynamodb:BatchWriteItem", dynamo.SearchTable, "index and unindex writes"},
		{"dynamodb:Query", dynamo.SearchTable, "unindexing reads a recording's documents"},
		{"dynamodb:BatchWriteItem", dynamo.TranscriptsTable, "a completed job's segments"},
		{"dynamodb:Query", dynamo.TranscriptsTable, "a purge finds a recording's segments"},
	},
}

// Every DynamoDB call a function makes is granted on the table it touches,
// not only on some table.
func TestDynamoDBCallsAreGrantedOnTheirTables(t *testing.T) {
	s := synth(t, true)
	tableID := map[string]string{} // table name -> logical id
	for id, r := range s.ofType("AWS::DynamoDB::Table") {
		for _, def := range dynamo.Schema {
			if r.Properties["TableName"] == dynamo.TableName(recorder.TablePrefix("test"), def.Name) {
				tableID[def.Name] = id
			}
		}
	}
	for fn, calls := range dynamoCalls {
		role := logicalID(t, s, "AWS::IAM::Role", fn+"Role")
		granted := map[[2]string]bool{} // action, table logical id
		for _, pol := range s.ofType("AWS::IAM::Policy") {
			if get(pol.Properties, "Roles", 0, "Ref") != role {
				continue
			}
			for _, st := range get(pol.Properties, "PolicyDocument", "Statement").([]any) {
				for _, a := range list(get(st, "Action")) {
					for _, res := range list(get(st, "Resource")) {
						if arn, ok := get(res, "Fn::GetAtt").([]any); ok && len(arn) == 2 && arn[1] == "Arn" {
							granted[[2]string{a.(string), arn[0].(string)}] = true
						}
					}
				}
			}
		}
		for _, c := range calls {
			id, ok := tableID[c.table]
			if !ok {
				t.Fatalf("no table %s in the template", c.table)
			}
			if !granted[[2]string{c.action, id}] {
				t.Errorf("%s may not %s on the %s table, which it needs: %s", fn, c.action, c.table, c.why)
			}
		}
	}
}
