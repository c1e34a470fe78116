import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as cognito from 'aws-cdk-lib/aws-cognito';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { LOG_GROUP_KMS_SKIP, skipCheckov } from './compliance';
import { Contract, Operation, requestParameters } from './contract';
import { GatewayResponsesSpec, problemTemplate, responseHeaders } from './gateway-responses';

export interface Throttle {
  readonly rateLimit: number;
  readonly burstLimit: number;
}

/** A client app's usage plan: throttle per key and quota per period. */
export interface ClientPlan extends Throttle {
  readonly quotaLimit: number;
  readonly quotaPeriod: 'DAY' | 'WEEK' | 'MONTH';
}

/** One client app's key and the usage plan only that key is in. */
export interface ClientAccess {
  readonly apiKey: apigw.ApiKey;
  readonly usagePlan: apigw.UsagePlan;
}

export interface ItemsApiProps {
  /** The parsed api/openapi.json; every resource, method, model and validator comes from it. */
  readonly contract: Contract;
  /** The function serving each operation, keyed by the contract's x-function. */
  readonly handlers: Readonly<Record<string, lambda.IFunction>>;
  readonly userPool: cognito.IUserPool;
  readonly gatewayResponses: GatewayResponsesSpec;
  /** The API Gateway stage name (also the first URL path segment). */
  readonly stageName: string;
  /**
   * The REST API's name, as the console, CloudWatch metrics (ApiName) and alarms show it.
   * @default - the stack's name
   */
  readonly restApiName?: string;
  /** Stage-wide default throttle. */
  readonly throttle: Throttle;
  /**
   * Per-method throttles keyed by "VERB /path" as the contract writes them.
   * @default - the stage throttle only
   */
  readonly methodThrottles?: Readonly<Record<string, Throttle>>;
  /**
   * The client apps by name, each with its own API key and usage plan (throttle and quota per
   * key). Names are lower case (config.ts checks them); at least one.
   */
  readonly clients: Readonly<Record<string, ClientPlan>>;
  /** Origins allowed by CORS preflight. */
  readonly corsAllowOrigins: readonly string[];
  /**
   * Retention of the access and execution log groups.
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly logRetention?: logs.RetentionDays;
  /**
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
  /**
   * Turn the execute-api endpoint off: a custom domain is then the only way in.
   * @default false
   */
  readonly disableExecuteApiEndpoint?: boolean;
  /**
   * Each client's API key value by client name (dynamic references, so that every region's key
   * of a client has the same value); when given, it names every client.
   * @default - API Gateway generates every value
   */
  readonly apiKeyValues?: Readonly<Record<string, string>>;
}

/**
 * The regional REST API built from the contract: Cognito authorizer and API key on every method,
 * models and validators on every method that takes input, problem+json gateway responses,
 * stage/method/usage-plan throttling, JSON access logs, ERROR execution logs, X-Ray.
 */
export class ItemsApi extends Construct {
  public readonly api: apigw.RestApi;
  public readonly stage: apigw.Stage;
  /** Each client app's API key and usage plan, in the stage's order of clients. */
  public readonly clients: Readonly<Record<string, ClientAccess>>;
  public readonly accessLogGroup: logs.LogGroup;
  public readonly executionLogGroup: logs.LogGroup;
  /** The methods by "VERB /path". */
  public readonly methods: Readonly<Record<string, apigw.Method>>;

  constructor(scope: Construct, id: string, props: ItemsApiProps) {
    super(scope, id);
    const retention = props.logRetention ?? logs.RetentionDays.ONE_MONTH;
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    const routes = new Set(props.contract.operations.map((op) => `${op.method} ${op.path}`));
    for (const key of Object.keys(props.methodThrottles ?? {})) {
      if (!routes.has(key)) throw new Error(`method throttle ${JSON.stringify(key)} names no operation of the contract (${[...routes].join(', ')})`);
    }
    const clientNames = Object.keys(props.clients);
    if (clientNames.length === 0) throw new Error('clients: at least one client app is needed (every method requires an API key)');
    if (props.apiKeyValues) {
      const valued = Object.keys(props.apiKeyValues).sort().join(', ');
      if (valued !== [...clientNames].sort().join(', ')) throw new Error(`apiKeyValues names ${valued || 'no client'}, not the clients ${clientNames.join(', ')}`);
    }
    for (const op of props.contract.operations) {
      if (!props.handlers[op.functionName]) throw new Error(`${op.method} ${op.path}: no function given for x-function ${op.functionName}`);
    }

    this.accessLogGroup = new logs.LogGroup(this, 'AccessLogs', { retention, removalPolicy });
    skipCheckov(this.accessLogGroup, 'CKV_AWS_158', LOG_GROUP_KMS_SKIP);

    // Execution logging needs the region's API Gateway account setting to name a CloudWatch role.
    // That setting is account-wide: the account stack (cdk/lib/account-stack.ts) declares it,
    // never a stage. API Gateway refuses a stage with logging on while the setting is empty.
    //
    // Every method-settings entry states its logging, data tracing and metrics: an override entry
    // is a whole MethodSetting, and nothing in AWS's documentation says API Gateway fills its
    // unset fields from the stage-wide entry (docs/STACK.md, "Assumptions about AWS").
    const observability = { loggingLevel: apigw.MethodLoggingLevel.ERROR, dataTraceEnabled: false, metricsEnabled: true } as const;
    const methodOptions: Record<string, apigw.MethodDeploymentOptions> = {};
    for (const [key, t] of Object.entries(props.methodThrottles ?? {})) {
      const [verb, path] = key.split(' ');
      methodOptions[`${path}/${verb}`] = { ...observability, throttlingRateLimit: t.rateLimit, throttlingBurstLimit: t.burstLimit };
    }

    this.api = new apigw.RestApi(this, 'RestApi', {
      restApiName: props.restApiName ?? Stack.of(this).stackName,
      description: `${props.contract.title} (${props.stageName})`,
      endpointTypes: [apigw.EndpointType.REGIONAL],
      cloudWatchRole: false,
      retainDeployments: false,
      ...(props.disableExecuteApiEndpoint ? { disableExecuteApiEndpoint: true } : {}),
      deployOptions: {
        stageName: props.stageName,
        throttlingRateLimit: props.throttle.rateLimit,
        throttlingBurstLimit: props.throttle.burstLimit,
        methodOptions,
        ...observability,
        tracingEnabled: true,
        accessLogDestination: new apigw.LogGroupLogDestination(this.accessLogGroup),
        accessLogFormat: apigw.AccessLogFormat.custom(JSON.stringify(ACCESS_LOG_FIELDS)),
      },
    });
    this.stage = this.api.deploymentStage;

    // API Gateway would create the execution log group without retention on first use; own it instead.
    this.executionLogGroup = new logs.LogGroup(this, 'ExecutionLogs', {
      logGroupName: `API-Gateway-Execution-Logs_${this.api.restApiId}/${props.stageName}`,
      retention,
      removalPolicy,
    });
    skipCheckov(this.executionLogGroup, 'CKV_AWS_158', LOG_GROUP_KMS_SKIP);
    this.stage.node.addDependency(this.executionLogGroup);

    const authorizer = new apigw.CognitoUserPoolsAuthorizer(this, 'Authorizer', {
      cognitoUserPools: [props.userPool],
      identitySource: apigw.IdentitySource.header('Authorization'),
    });
    const bodyValidator = this.api.addRequestValidator('BodyAndParameters', { validateRequestBody: true, validateRequestParameters: true });
    const paramValidator = this.api.addRequestValidator('ParametersOnly', { validateRequestBody: false, validateRequestParameters: true });
    const models = new Map<string, apigw.Model>();
    const modelFor = (op: Operation): apigw.Model => {
      const body = op.body!;
      let model = models.get(body.modelName);
      if (!model) {
        model = this.api.addModel(`Model${body.modelName}`, {
          modelName: body.modelName,
          contentType: 'application/json',
          description: `Request body of ${op.operationId}, from api/openapi.json`,
          schema: body.schema as apigw.JsonSchema,
        });
        models.set(body.modelName, model);
      }
      return model;
    };

    const resources = new Map<string, apigw.IResource>([['/', this.api.root]]);
    const resourceFor = (path: string): apigw.IResource => {
      const known = resources.get(path);
      if (known) return known;
      const cut = path.lastIndexOf('/');
      const parent = resourceFor(cut === 0 ? '/' : path.slice(0, cut));
      const resource = parent.addResource(path.slice(cut + 1));
      resources.set(path, resource);
      return resource;
    };

    const methods: Record<string, apigw.Method> = {};
    for (const op of props.contract.operations) {
      const resource = resourceFor(op.path);
      const params = requestParameters(op);
      const hasParams = Object.keys(params).length > 0;
      methods[`${op.method} ${op.path}`] = resource.addMethod(
        op.method,
        new apigw.LambdaIntegration(props.handlers[op.functionName], { proxy: true, allowTestInvoke: false }),
        {
          operationName: op.operationId,
          authorizationType: apigw.AuthorizationType.COGNITO,
          authorizer,
          apiKeyRequired: true,
          ...(hasParams ? { requestParameters: params } : {}),
          ...(op.body
            ? { requestValidator: bodyValidator, requestModels: { 'application/json': modelFor(op) } }
            : hasParams
              ? { requestValidator: paramValidator }
              : {}),
        },
      );
    }
    this.methods = methods;

    // CORS preflight on every path that has operations. Preflight answers cannot carry
    // credentials; they run no code and return only CORS headers.
    for (const path of new Set(props.contract.operations.map((op) => op.path))) {
      const preflight = resourceFor(path).addCorsPreflight({
        allowOrigins: [...props.corsAllowOrigins],
        allowHeaders: [...props.gatewayResponses.cors.allowHeaders],
        allowMethods: props.contract.operations.filter((o) => o.path === path).map((o) => o.method),
        exposeHeaders: [...props.gatewayResponses.cors.exposeHeaders],
        maxAge: Duration.seconds(props.gatewayResponses.cors.maxAgeSeconds),
      });
      skipCheckov(preflight, 'CKV_AWS_59', 'CORS preflight (OPTIONS) is a mock integration returning CORS headers only; browsers send it without credentials or an API key.');
    }

    for (const r of props.gatewayResponses.responses) {
      this.api.addGatewayResponse(`Response${r.responseType}`, {
        type: apigw.ResponseType.of(r.responseType),
        ...(r.statusCode !== null ? { statusCode: String(r.statusCode) } : {}),
        responseHeaders: responseHeaders(props.gatewayResponses, r, props.corsAllowOrigins),
        templates: { 'application/json': problemTemplate(props.gatewayResponses, r) },
      });
    }

    // One key and one usage plan per client app, the key in its own plan only: a client's
    // throttle and quota count that app's requests and no other's.
    const stackName = Stack.of(this).stackName;
    const clients: Record<string, ClientAccess> = {};
    for (const [name, plan] of Object.entries(props.clients)) {
      const scope = new Construct(this, `Client-${name}`);
      const usagePlan = new apigw.UsagePlan(scope, 'UsagePlan', {
        name: `${stackName}-${name}`,
        description: `Throttle and quota of the client app ${name} (${stackName})`,
        throttle: { rateLimit: plan.rateLimit, burstLimit: plan.burstLimit },
        quota: { limit: plan.quotaLimit, period: apigw.Period[plan.quotaPeriod] },
        apiStages: [{ api: this.api, stage: this.stage }],
      });
      const apiKey = new apigw.ApiKey(scope, 'ApiKey', {
        apiKeyName: `${stackName}-${name}`,
        description: `Identifies the client app ${name}; not a user credential (${stackName})`,
        enabled: true,
        stages: [this.stage],
        ...(props.apiKeyValues ? { value: props.apiKeyValues[name] } : {}),
      });
      usagePlan.addApiKey(apiKey);
      clients[name] = { apiKey, usagePlan };
    }
    this.clients = clients;

    skipCheckov(this.stage, 'CKV_AWS_120', 'No cache: every response is per-user (the owner comes from the token) and items change on write, so cached answers would be wrong or stale.');
  }
}

/**
 * Access log record: who, what, outcome and timings. No request or response bodies, no
 * Authorization header, no API key value (only its id).
 */
const ACCESS_LOG_FIELDS = {
  requestId: '$context.requestId',
  extendedRequestId: '$context.extendedRequestId',
  requestTime: '$context.requestTime',
  sourceIp: '$context.identity.sourceIp',
  userAgent: '$context.identity.userAgent',
  sub: '$context.authorizer.claims.sub',
  apiKeyId: '$context.identity.apiKeyId',
  httpMethod: '$context.httpMethod',
  resourcePath: '$context.resourcePath',
  path: '$context.path',
  protocol: '$context.protocol',
  status: '$context.status',
  responseLength: '$context.responseLength',
  responseLatency: '$context.responseLatency',
  integrationStatus: '$context.integration.status',
  integrationLatency: '$context.integration.latency',
  errorType: '$context.error.responseType',
  errorMessage: '$context.error.message',
  validationError: '$context.error.validationErrorString',
  wafStatus: '$context.waf.status',
  xrayTraceId: '$context.xrayTraceId',
};
