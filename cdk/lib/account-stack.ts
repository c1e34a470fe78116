import { Aws, Stack, StackProps, Tags } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as budgets from 'aws-cdk-lib/aws-budgets';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { AccountConfig } from './account-config';
import { StageConfig } from './config';
import { acknowledgeNag } from './compliance';
import { GithubDeployAccess } from './github-deploy-access';

/** The account stack's name: one per account and region, beside the stage stacks. */
export const ACCOUNT_STACK_NAME = 'SecureServerlessBackend-account';

export interface AccountStackProps extends StackProps {
  /** config/account.json. */
  readonly config: AccountConfig;
  /**
   * config/stages.json's settings of the GitHub environments' stages (their other regions).
   * @default - each stage one stack in its environment's region
   */
  readonly stages?: Readonly<Record<string, StageConfig>>;
}

/**
 * What every stage of an account and region shares, deployed once before them
 * (`npx cdk deploy -c stack=account`): the API Gateway CloudWatch role and the region's API
 * Gateway account setting naming it, an optional budget of the whole account, and GitHub Actions'
 * deploy access (OIDC provider and roles, in one region only). Each part is switched off in
 * config/account.json when the account already has it.
 */
export class AccountStack extends Stack {
  /** The role API Gateway writes execution logs with, when this stack declares it. */
  public readonly apiGatewayCloudWatchRole?: iam.Role;
  /** GitHub Actions' OIDC provider and roles, when config/account.json sets githubActions. */
  public readonly githubDeployAccess?: GithubDeployAccess;

  constructor(scope: Construct, id: string, props: AccountStackProps) {
    super(scope, id, props);
    Tags.of(this).add('project', 'secure-serverless-backend');

    if (props.config.apiGatewayCloudWatchRole) {
      // Execution logging of every REST API in the region goes through this one setting. It is
      // declared here once, so that no stage replaces it and no stage deletion orphans a role.
      this.apiGatewayCloudWatchRole = new iam.Role(this, 'ApiGatewayCloudWatchRole', {
        assumedBy: new iam.ServicePrincipal('apigateway.amazonaws.com'),
        description: 'API Gateway account role: writes execution and access logs of REST APIs in this region',
        inlinePolicies: {
          logs: new iam.PolicyDocument({
            statements: [
              new iam.PolicyStatement({
                actions: ['logs:CreateLogGroup', 'logs:CreateLogStream', 'logs:DescribeLogGroups', 'logs:DescribeLogStreams', 'logs:PutLogEvents', 'logs:GetLogEvents', 'logs:FilterLogEvents'],
                resources: [`arn:${Aws.PARTITION}:logs:${Aws.REGION}:${Aws.ACCOUNT_ID}:log-group:*`],
              }),
            ],
          }),
        },
      });
      acknowledgeNag(this.apiGatewayCloudWatchRole, {
        id: 'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:logs:<AWS::Region>:<AWS::AccountId>:log-group:*]',
        reason: 'The API Gateway account role serves every REST API of the account and region; API Gateway names the execution log groups itself (API-Gateway-Execution-Logs_<api>/<stage>), and DescribeLogGroups has no narrower resource.',
      });
      new apigw.CfnAccount(this, 'ApiGatewayAccount', { cloudWatchRoleArn: this.apiGatewayCloudWatchRole.roleArn });
    }

    if (props.config.budget) {
      const subscribers = props.config.budget.emails.map((address) => ({ subscriptionType: 'EMAIL', address }));
      new budgets.CfnBudget(this, 'AccountBudget', {
        budget: { budgetType: 'COST', timeUnit: 'MONTHLY', budgetLimit: { amount: props.config.budget.monthlyUsd, unit: 'USD' } },
        notificationsWithSubscribers: [
          { notification: { notificationType: 'ACTUAL', comparisonOperator: 'GREATER_THAN', threshold: 80, thresholdType: 'PERCENTAGE' }, subscribers },
          { notification: { notificationType: 'FORECASTED', comparisonOperator: 'GREATER_THAN', threshold: 100, thresholdType: 'PERCENTAGE' }, subscribers },
        ],
      });
    }

    if (props.config.githubActions) {
      // IAM is global: every resource of this part is conditioned on the stack's region being
      // githubActions.iamRegion (and on the account), so deploying the stack in more regions is safe.
      this.githubDeployAccess = new GithubDeployAccess(this, 'GithubActions', { settings: props.config.githubActions, ...(props.stages ? { stages: props.stages } : {}) });
    }
  }
}
