import type { Context, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';

/**
 * Reads a table's stream from a moto server the way Lambda's event source mapping does (DescribeStream,
 * GetShardIterator, GetRecords) and hands each new batch of real stream records to `deliver`, so a test runs the
 * stream-triggered function on the records DynamoDB itself produced rather than on records the test built.
 * DynamoDB Streams' JSON API is called directly: no SDK client of it is published at our pinned SDK version.
 */
export interface StreamPump {
  /** Reads every record written since the last call and delivers them as one event; returns how many. */
  drain(): Promise<number>;
}

const CONTEXT = { functionName: 'job-webhooks', awsRequestId: 'stream-pump' } as Context;

export function streamPump(
  endpoint: string, streamArn: string, deliver: (event: DynamoDBStreamEvent, context: Context) => Promise<unknown>,
): StreamPump {
  const iterators = new Map<string, string | undefined>();
  const call = async (target: string, body: object): Promise<any> => {
    const response = await fetch(endpoint, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-amz-json-1.0',
        'x-amz-target': `DynamoDBStreams_20120810.${target}`,
        // moto picks the service from the credential scope; it does not check the signature.
        authorization: 'AWS4-HMAC-SHA256 Credential=testing/20260101/us-west-2/dynamodb/aws4_request, SignedHeaders=host, Signature=0',
      },
      body: JSON.stringify(body),
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`DynamoDB Streams ${target} answered ${response.status}: ${text}`);
    return JSON.parse(text);
  };
  return {
    async drain() {
      const { StreamDescription } = await call('DescribeStream', { StreamArn: streamArn });
      const records: DynamoDBRecord[] = [];
      for (const { ShardId } of StreamDescription.Shards as { ShardId: string }[]) {
        let iterator = iterators.get(ShardId) ?? (await call('GetShardIterator', {
          StreamArn: streamArn, ShardId, ShardIteratorType: 'TRIM_HORIZON',
        })).ShardIterator;
        for (;;) {
          const page = await call('GetRecords', { ShardIterator: iterator, Limit: 1000 });
          records.push(...(page.Records as DynamoDBRecord[]).map((r) => ({ ...r, eventSourceARN: streamArn })));
          iterator = page.NextShardIterator;
          if (page.Records.length === 0 || !iterator) break;
        }
        iterators.set(ShardId, iterator);
      }
      if (records.length > 0) await deliver({ Records: records }, CONTEXT);
      return records.length;
    },
  };
}
