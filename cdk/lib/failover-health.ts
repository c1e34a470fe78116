import { Duration, Stack } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as route53 from 'aws-cdk-lib/aws-route53';
import { Construct } from 'constructs';

/** The share of requests answered 5XX (API Gateway's 5XXError, Average) that marks the region unhealthy. */
export const UNHEALTHY_5XX_SHARE = 0.1;
/** Minutes, of the last EVALUATION_MINUTES, that must breach before the region is unhealthy. */
export const BREACHING_MINUTES = 3;
export const EVALUATION_MINUTES = 5;

export interface FailoverHealthProps {
  readonly api: apigw.RestApi;
  readonly stageName: string;
  readonly table: dynamodb.ITable;
  /** DynamoDB operations the functions call (SystemErrors is published per operation). */
  readonly tableOperations: readonly string[];
  /** SystemErrors per minute and operation that count as a breaching minute. */
  readonly dynamoSystemErrorsPerMinute: number;
}

/**
 * The signal Route 53's failover follows for the primary region, fed by real requests: a CALCULATED
 * health check that is healthy only while all its children are, each child a CLOUDWATCH_METRIC
 * health check on one alarm of this region:
 * - the API's 5XX share (API Gateway's 5XXError metric, Average = the share of requests answered
 *   5XX; a function error, timeout or a table failure the function reports all end as a 5XX);
 * - DynamoDB SystemErrors of the table, one alarm per operation the functions call.
 * Route 53 reads only single-metric alarms with a standard statistic (no metric math, no
 * percentiles), hence one alarm per operation instead of one expression.
 *
 * Missing data is not breaching (no traffic is no evidence of failure). INSUFFICIENT_DATA, which
 * then means CloudWatch itself cannot evaluate the alarm, keeps the last known status: see
 * docs/AVAILABILITY.md for why, and for what this signal cannot see (a region whose API Gateway
 * receives nothing at all).
 */
export class FailoverHealth extends Construct {
  public readonly alarms: readonly cloudwatch.Alarm[];
  public readonly childHealthChecks: readonly route53.HealthCheck[];
  /** The health check the PRIMARY failover records carry. */
  public readonly healthCheck: route53.HealthCheck;

  constructor(scope: Construct, id: string, props: FailoverHealthProps) {
    super(scope, id);
    const region = Stack.of(this).region;
    const stackName = Stack.of(this).stackName;
    const minute = Duration.minutes(1);
    const alarm = (alarmId: string, metric: cloudwatch.IMetric, threshold: number, description: string): cloudwatch.Alarm =>
      new cloudwatch.Alarm(this, alarmId, {
        alarmName: `${stackName}-Health${alarmId}`,
        metric,
        threshold,
        evaluationPeriods: EVALUATION_MINUTES,
        datapointsToAlarm: BREACHING_MINUTES,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        alarmDescription: `Failover signal of ${region}: ${description}`,
      });

    const alarms: cloudwatch.Alarm[] = [
      alarm(
        'Api5xxShare',
        props.api.metricServerError({ period: minute, statistic: 'Average', dimensionsMap: { ApiName: props.api.restApiName, Stage: props.stageName } }),
        UNHEALTHY_5XX_SHARE,
        `${UNHEALTHY_5XX_SHARE * 100}%+ of requests answered 5XX in ${BREACHING_MINUTES} of ${EVALUATION_MINUTES} minutes`,
      ),
    ];
    for (const operation of props.tableOperations) {
      alarms.push(
        alarm(
          `TableSystemErrors${operation}`,
          new cloudwatch.Metric({
            namespace: 'AWS/DynamoDB',
            metricName: 'SystemErrors',
            dimensionsMap: { TableName: props.table.tableName, Operation: operation },
            period: minute,
            statistic: 'Sum',
          }),
          props.dynamoSystemErrorsPerMinute,
          `${props.dynamoSystemErrorsPerMinute}+ DynamoDB SystemErrors on ${operation} in ${BREACHING_MINUTES} of ${EVALUATION_MINUTES} minutes`,
        ),
      );
    }
    this.alarms = alarms;

    this.childHealthChecks = alarms.map(
      (a) =>
        new route53.HealthCheck(this, `${a.node.id}Check`, {
          type: route53.HealthCheckType.CLOUDWATCH_METRIC,
          alarmIdentifier: { region, name: a.alarmName },
          insufficientDataHealthStatus: route53.InsufficientDataHealthStatusEnum.LAST_KNOWN_STATUS,
        }),
    );
    this.healthCheck = new route53.HealthCheck(this, 'Region', {
      type: route53.HealthCheckType.CALCULATED,
      childHealthChecks: [...this.childHealthChecks],
      healthThreshold: this.childHealthChecks.length,
    });
  }
}
