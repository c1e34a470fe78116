import { Aws, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as budgets from 'aws-cdk-lib/aws-budgets';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';
import { acknowledgeNag } from './compliance';
import type { AlarmThresholds } from './config';

export interface MonitoringProps {
  readonly api: apigw.RestApi;
  readonly stageName: string;
  /** The route functions by name. */
  readonly functions: Readonly<Record<string, lambda.IFunction>>;
  readonly table: dynamodb.ITable;
  /** The DynamoDB operations the functions use (from the contract), e.g. ["PutItem", "Query"]. */
  readonly tableOperations: readonly string[];
  /** The stage's alarm thresholds (`config/stages.json`). */
  readonly thresholds: AlarmThresholds;
  /**
   * Monthly cost budget in USD.
   * @default - no budget here (a multi-region stage's secondary: the primary's budget counts
   * every region's resources through the shared cost allocation tag)
   */
  readonly budgetUsd?: number;
  /**
   * The cost allocation tag whose resources the budget counts (a user-defined tag every resource
   * of the stage carries; it must be activated in Billing before the budget sees any cost).
   */
  readonly costAllocationTag: { readonly key: string; readonly value: string };
  /**
   * Subscribed to the alarm topic and the budget alerts.
   * @default - no e-mail subscription
   */
  readonly alarmEmail?: string;
}

/**
 * Alarms on the API, every function and the table, all notifying one encrypted SNS topic; a
 * dashboard of the same signals; a monthly budget of the stage's own costs that alerts through
 * the topic.
 */
export class Monitoring extends Construct {
  public readonly topic: sns.Topic;
  public readonly alarms: cloudwatch.Alarm[] = [];
  public readonly dashboard: cloudwatch.Dashboard;
  /** Every alarm's name starts with it; the topic and key policies trust only such alarms. */
  public readonly alarmNamePrefix: string;

  constructor(scope: Construct, id: string, props: MonitoringProps) {
    super(scope, id);
    const known = new Set<string>(Object.values(dynamodb.Operation));
    for (const op of props.tableOperations) {
      if (!known.has(op)) throw new Error(`Monitoring: ${JSON.stringify(op)} is not a DynamoDB operation CloudWatch reports (${[...known].join(', ')})`);
    }

    // Who may publish: CloudWatch, for this stack's alarms only (each alarm is named
    // "<stack>-<id>"), and Budgets, for this account's budgets. The topic policy lets them
    // publish; the key policy lets them encrypt for the topic. Both on behalf of this account only
    // (aws:SourceAccount) and of the right source (aws:SourceArn) against the confused deputy.
    const stackName = Stack.of(this).stackName;
    this.alarmNamePrefix = `${stackName}-`;
    const publishers = [
      { service: 'cloudwatch.amazonaws.com', sourceArn: `arn:${Aws.PARTITION}:cloudwatch:${Aws.REGION}:${Aws.ACCOUNT_ID}:alarm:${this.alarmNamePrefix}*` },
      { service: 'budgets.amazonaws.com', sourceArn: `arn:${Aws.PARTITION}:budgets::${Aws.ACCOUNT_ID}:*` },
    ];
    const onBehalfOf = (sourceArn: string) => ({ StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID }, ArnLike: { 'aws:SourceArn': sourceArn } });
    const key = new kms.Key(this, 'TopicKey', {
      description: 'Encrypts the alarm topic',
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    for (const p of publishers) {
      key.addToResourcePolicy(
        new iam.PolicyStatement({
          principals: [new iam.ServicePrincipal(p.service)],
          actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
          resources: ['*'],
          conditions: onBehalfOf(p.sourceArn),
        }),
      );
    }
    this.topic = new sns.Topic(this, 'AlarmTopic', { masterKey: key, enforceSSL: true, displayName: `Alarms ${stackName}` });
    for (const p of publishers) {
      this.topic.addToResourcePolicy(
        new iam.PolicyStatement({
          principals: [new iam.ServicePrincipal(p.service)],
          actions: ['sns:Publish'],
          resources: [this.topic.topicArn],
          conditions: onBehalfOf(p.sourceArn),
        }),
      );
    }
    if (props.alarmEmail) {
      const subscription = this.topic.addSubscription(new subscriptions.EmailSubscription(props.alarmEmail));
      acknowledgeNag(subscription, {
        id: 'Serverless-SNSRedrivePolicy',
        reason: 'An e-mail subscription: a dead-letter queue would keep undelivered alarm e-mails where nobody reads them, while each alarm keeps its state and history in CloudWatch (the dashboard shows them).',
      });
    }
    const action = new actions.SnsAction(this.topic);

    const minute = Duration.minutes(1);
    const t = props.thresholds;
    const alarm = (id: string, metric: cloudwatch.IMetric, threshold: number, description: string, evaluationPeriods = 1, datapointsToAlarm = 1): cloudwatch.Alarm => {
      const a = new cloudwatch.Alarm(this, id, {
        alarmName: `${this.alarmNamePrefix}${id}`,
        metric,
        threshold,
        evaluationPeriods,
        datapointsToAlarm,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        alarmDescription: description,
      });
      a.addAlarmAction(action);
      a.addOkAction(action);
      this.alarms.push(a);
      return a;
    };

    const apiDims = { ApiName: props.api.restApiName, Stage: props.stageName };
    const api5xx = props.api.metricServerError({ period: minute, statistic: 'Sum', dimensionsMap: apiDims });
    const apiP99 = props.api.metricLatency({ period: minute, statistic: 'p99', dimensionsMap: apiDims });
    alarm('Api5xx', api5xx, t.api5xxPerMinute, `API answered ${t.api5xxPerMinute}+ 5XX in a minute`);
    alarm('ApiLatencyP99', apiP99, t.apiP99LatencyMs, `API p99 latency at or above ${t.apiP99LatencyMs} ms for 3 of 5 minutes`, 5, 3);

    const fnWidgets: cloudwatch.IWidget[] = [];
    for (const [name, fn] of Object.entries(props.functions)) {
      const id = name.replace(/(^|-)([a-z])/g, (_m, _d: string, c: string) => c.toUpperCase());
      const errors = fn.metricErrors({ period: minute, statistic: 'Sum' });
      const throttles = fn.metricThrottles({ period: minute, statistic: 'Sum' });
      alarm(`${id}Errors`, errors, t.functionErrorsPerMinute, `${name}: ${t.functionErrorsPerMinute}+ errors in a minute`);
      alarm(`${id}Throttles`, throttles, t.functionThrottlesPerMinute, `${name}: ${t.functionThrottlesPerMinute}+ throttles in a minute`);
      fnWidgets.push(
        new cloudwatch.GraphWidget({
          title: name,
          width: 8,
          left: [fn.metricInvocations({ period: minute, statistic: 'Sum' }), errors, throttles],
          right: [fn.metricDuration({ period: minute, statistic: 'p99' })],
        }),
      );
    }

    const operations = props.tableOperations as dynamodb.Operation[];
    const tableThrottles = props.table.metricThrottledRequestsForOperations({ operations, period: minute, statistic: 'Sum' });
    const tableErrors = props.table.metricSystemErrorsForOperations({ operations, period: minute, statistic: 'Sum' });
    alarm('TableThrottles', tableThrottles, t.dynamoThrottlesPerMinute, `DynamoDB throttled ${t.dynamoThrottlesPerMinute}+ requests in a minute`);
    alarm('TableSystemErrors', tableErrors, t.dynamoSystemErrorsPerMinute, `DynamoDB returned ${t.dynamoSystemErrorsPerMinute}+ system errors in a minute`);

    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      defaultInterval: Duration.hours(3),
      widgets: [
        [
          new cloudwatch.GraphWidget({
            title: 'API requests and errors',
            width: 12,
            left: [props.api.metricCount({ period: minute, statistic: 'Sum', dimensionsMap: apiDims }), props.api.metricClientError({ period: minute, statistic: 'Sum', dimensionsMap: apiDims }), api5xx],
          }),
          new cloudwatch.GraphWidget({
            title: 'API latency',
            width: 12,
            left: [props.api.metricLatency({ period: minute, statistic: 'p50', dimensionsMap: apiDims }), apiP99, props.api.metricIntegrationLatency({ period: minute, statistic: 'p99', dimensionsMap: apiDims })],
          }),
        ],
        fnWidgets,
        [
          // Separate graphs: both expressions name their per-operation metrics the same way.
          new cloudwatch.GraphWidget({ title: 'DynamoDB throttled requests', width: 8, left: [tableThrottles] }),
          new cloudwatch.GraphWidget({ title: 'DynamoDB system errors', width: 8, left: [tableErrors] }),
          new cloudwatch.AlarmStatusWidget({ title: 'Alarms', width: 8, alarms: this.alarms }),
        ],
      ],
    });

    if (props.budgetUsd === undefined) return;
    const subscribers: budgets.CfnBudget.SubscriberProperty[] = [
      { subscriptionType: 'SNS', address: this.topic.topicArn },
      ...(props.alarmEmail ? [{ subscriptionType: 'EMAIL', address: props.alarmEmail }] : []),
    ];
    const budget = new budgets.CfnBudget(this, 'Budget', {
      budget: {
        budgetType: 'COST',
        timeUnit: 'MONTHLY',
        budgetLimit: { amount: props.budgetUsd, unit: 'USD' },
        // Only this stage's costs: user-defined cost allocation tags read "user:<key>$<value>".
        costFilters: { TagKeyValue: [`user:${props.costAllocationTag.key}$${props.costAllocationTag.value}`] },
      },
      notificationsWithSubscribers: [
        { notification: { notificationType: 'ACTUAL', comparisonOperator: 'GREATER_THAN', threshold: 80, thresholdType: 'PERCENTAGE' }, subscribers },
        { notification: { notificationType: 'FORECASTED', comparisonOperator: 'GREATER_THAN', threshold: 100, thresholdType: 'PERCENTAGE' }, subscribers },
      ],
    });
    // Budgets checks it may publish when the budget is created: wait for the topic policy.
    const topicPolicy = this.topic.node.tryFindChild('Policy');
    if (topicPolicy) budget.node.addDependency(topicPolicy);
  }
}
