// Package importcsv builds and validates the CSV files that Amazon Cognito's user import
// job reads (CreateUserImportJob + a PUT to its presigned URL).
//
// One rule set, two entry points: a snapshot user is first encoded into a Row (Target.Row)
// and then checked with the same Target.Check that checks a Row read back from a CSV file,
// so validating users directly and validating the file the encoder wrote (or a hand-edited
// one) give the same rejects. ValidateUsers and ValidateCSV stream: rows go straight to the
// part writer, and only the set of accepted usernames is held in memory, because Cognito
// needs cognito:username unique across the import.
//
// The rules follow "Creating the user import CSV file" in the Amazon Cognito developer guide
// (cognito-user-pools-using-import-tool-csv-header.html).
package importcsv
