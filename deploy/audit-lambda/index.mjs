// vm-orchestrator's audit backup as an AWS Lambda function (the seed's "AWS Lambda + DynamoDB"):
// the server (audit.lambda) invokes it with `{entries: [<export line>, …]}` and it writes each
// entry to the DynamoDB table VMO_AUDIT_TABLE as one item, with a conditional put on the entry id,
// so a batch sent again never makes two items. The Node.js runtimes of Lambda include the AWS SDK
// v3, so this file is the whole function (see README.md here).
import {
  ConditionalCheckFailedException,
  DynamoDBClient,
  PutItemCommand,
} from '@aws-sdk/client-dynamodb';

let client;

/** An entry as an item: the same as the server writes itself with audit.dynamodb. */
export function itemOf(line) {
  return {
    id: { S: line.id },
    ts: { S: line.ts },
    actor: line.username === null ? { NULL: true } : { S: line.username },
    action: { S: line.action },
    hash: { S: line.hash },
    prevHash: { S: line.prevHash },
    entry: { S: JSON.stringify(line) },
  };
}

function parse(entry) {
  const line = typeof entry === 'string' ? JSON.parse(entry) : entry;
  for (const key of ['id', 'ts', 'action', 'hash', 'prevHash'])
    if (typeof line?.[key] !== 'string') throw new TypeError(`an entry without its ${key}`);
  return line;
}

export async function handler(event) {
  const table = process.env.VMO_AUDIT_TABLE;
  if (!table) throw new Error('VMO_AUDIT_TABLE is not set');
  if (!Array.isArray(event?.entries)) throw new TypeError('expected {entries: [...]}');
  const lines = event.entries.map(parse);
  client ??= new DynamoDBClient(
    process.env.VMO_DYNAMODB_ENDPOINT ? { endpoint: process.env.VMO_DYNAMODB_ENDPOINT } : {},
  );
  let written = 0;
  let existing = 0;
  for (let i = 0; i < lines.length; i += 8) {
    const outcomes = await Promise.all(
      lines.slice(i, i + 8).map(async (line) => {
        try {
          await client.send(
            new PutItemCommand({
              TableName: table,
              Item: itemOf(line),
              ConditionExpression: 'attribute_not_exists(id)',
            }),
          );
          return 'written';
        } catch (err) {
          if (err instanceof ConditionalCheckFailedException) return 'existing';
          throw err;
        }
      }),
    );
    written += outcomes.filter((o) => o === 'written').length;
    existing += outcomes.filter((o) => o === 'existing').length;
  }
  return { written, existing };
}
