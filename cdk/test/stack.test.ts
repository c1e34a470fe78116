import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { Match } from 'aws-cdk-lib/assertions';
import { CONTRACT, REPO_ROOT, stageConfig, synthStage } from './helpers';

type Resource = { Type: string; Properties?: Record<string, any>; Metadata?: Record<string, any>; DeletionPolicy?: string };

/** The contract read raw, independently of the stack's parser: what each route's function may do. */
const RAW_CONTRACT = JSON.parse(readFileSync(path.join(REPO_ROOT, 'api', 'openapi.json'), 'utf8'));
const EXPECTED: Array<{ verb: string; path: string; fn: string; actions: string[] }> = [];
for (const [p, item] of Object.entries<Record<string, any>>(RAW_CONTRACT.paths)) {
  for (const [verb, op] of Object.entries<any>(item)) {
    if (op && typeof op === 'object' && op['x-function']) EXPECTED.push({ verb: verb.toUpperCase(), path: p, fn: op['x-function'], actions: [...op['x-dynamodb-actions']].sort() });
  }
}
const TABLE_SPEC = JSON.parse(readFileSync(path.join(REPO_ROOT, 'api', 'table.json'), 'utf8'));
const GATEWAY_RESPONSES = JSON.parse(readFileSync(path.join(REPO_ROOT, 'api', 'gateway-responses.json'), 'utf8'));

function resources(stage: string, type: string): Array<[string, Resource]> {
  return Object.entries(synthStage(stage).template.toJSON().Resources as Record<string, Resource>).filter(([, r]) => r.Type === type);
}
const asList = <T>(v: T | T[]): T[] => (Array.isArray(v) ? v : [v]);

/** The logical id of a function's resource, found by its description "<name> (Rust, arch)". */
function functionLogicalId(stage: string, name: string): string {
  const hits = resources(stage, 'AWS::Lambda::Function').filter(([, r]) => String(r.Properties?.Description).startsWith(`${name} (Rust`));
  assert.equal(hits.length, 1, `one function for ${name}`);
  return hits[0][0];
}

/** Statements of the policies attached to the role of the given function. */
function roleStatements(stage: string, fnLogicalId: string): any[] {
  const fn = synthStage(stage).template.toJSON().Resources[fnLogicalId] as Resource;
  const roleId = fn.Properties!.Role['Fn::GetAtt'][0];
  const role = synthStage(stage).template.toJSON().Resources[roleId] as Resource;
  assert.equal(role.Properties!.ManagedPolicyArns, undefined, `${roleId} has no managed policies`);
  assert.equal(role.Properties!.Policies, undefined, `${roleId} has no inline policies besides its attached one`);
  const policies = resources(stage, 'AWS::IAM::Policy').filter(([, p]) => asList(p.Properties!.Roles).some((r: any) => r.Ref === roleId));
  assert.equal(policies.length, 1, `${roleId} has one policy`);
  return policies[0][1].Properties!.PolicyDocument.Statement;
}

for (const stage of ['dev', 'prod']) {
  const config = stageConfig(stage);

  describe(`stack for ${stage}`, () => {
    const { template } = synthStage(stage);

    it('declares one function per contract operation: provided.al2023, bootstrap, arm64, X-Ray, JSON logs, 10 s, only the table, warm-up and user limit', () => {
      template.resourceCountIs('AWS::Lambda::Function', EXPECTED.length);
      for (const op of EXPECTED) {
        const id = functionLogicalId(stage, op.fn);
        const props = template.toJSON().Resources[id].Properties;
        assert.deepEqual(
          {
            Runtime: props.Runtime, Handler: props.Handler, Architectures: props.Architectures, MemorySize: props.MemorySize,
            Timeout: props.Timeout, TracingConfig: props.TracingConfig, LogFormat: props.LoggingConfig.LogFormat,
            ApplicationLogLevel: props.LoggingConfig.ApplicationLogLevel, EnvironmentKeys: Object.keys(props.Environment.Variables),
          },
          {
            Runtime: 'provided.al2023', Handler: 'bootstrap', Architectures: ['arm64'], MemorySize: config.memoryMb,
            Timeout: 10, TracingConfig: { Mode: 'Active' }, LogFormat: 'JSON',
            ApplicationLogLevel: 'INFO', EnvironmentKeys: ['TABLE_NAME', 'DYNAMODB_WARM_UP', 'USER_LIMIT_REQUESTS', 'USER_LIMIT_WINDOW_SECONDS', 'CORS_ALLOW_ORIGINS'],
          },
          `${op.fn} settings`,
        );
        assert.match(props.Environment.Variables.TABLE_NAME.Ref, /^ItemsTable/, `${op.fn} TABLE_NAME is the items table`);
        assert.equal(props.Environment.Variables.DYNAMODB_WARM_UP, String(config.dynamodbWarmUp), `${op.fn} DYNAMODB_WARM_UP is the stage setting`);
        assert.equal(props.Environment.Variables.USER_LIMIT_REQUESTS, String(config.userLimit.requests), `${op.fn} USER_LIMIT_REQUESTS is the stage setting`);
        assert.equal(props.Environment.Variables.USER_LIMIT_WINDOW_SECONDS, String(config.userLimit.windowSeconds), `${op.fn} USER_LIMIT_WINDOW_SECONDS is the stage setting`);
        assert.equal(props.Environment.Variables.CORS_ALLOW_ORIGINS, config.corsAllowOrigins.join(','), `${op.fn} CORS_ALLOW_ORIGINS is the stage's corsAllowOrigins`);
        assert.match(props.LoggingConfig.LogGroup.Ref, new RegExp(`LogGroup`), `${op.fn} logs to its explicit log group`);
        if (config.reservedConcurrency === null) assert.equal(props.ReservedConcurrentExecutions, undefined);
        else assert.equal(props.ReservedConcurrentExecutions, config.reservedConcurrency, `${op.fn} reserved concurrency`);
      }
    });

    it("gives each function's role exactly its route's DynamoDB actions on the table ARN, its own log group and X-Ray", () => {
      for (const op of EXPECTED) {
        const fnId = functionLogicalId(stage, op.fn);
        const logGroupId = template.toJSON().Resources[fnId].Properties.LoggingConfig.LogGroup.Ref;
        const statements = roleStatements(stage, fnId);
        const counter = statements.filter((s) => s.Sid === 'UserLimitCounter');
        const dynamo = statements.filter((s) => s.Sid !== 'UserLimitCounter' && asList(s.Action).some((a: string) => a.startsWith('dynamodb:')));
        assert.equal(dynamo.length, 1, `${op.fn}: one DynamoDB statement for its route`);
        assert.equal(dynamo[0].Condition, undefined, `${op.fn}: the route's statement is the table's, unconditioned`);
        // The per-user limit's counter: UpdateItem alone, on the table alone, and only where every
        // partition key the request touches starts with the counter prefix of api/table.json.
        assert.equal(counter.length, 1, `${op.fn}: one statement for the limit counter`);
        const { Resource: counterResource, ...counterRest } = counter[0];
        assert.deepEqual(
          counterRest,
          {
            Sid: 'UserLimitCounter',
            Action: 'dynamodb:UpdateItem',
            Effect: 'Allow',
            Condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [`${TABLE_SPEC.userLimitPartitionPrefix}*`] } },
          },
          `${op.fn}: the counter grant is UpdateItem limited to its key prefix`,
        );
        assert.deepEqual(Object.keys(counterResource), ['Fn::GetAtt'], `${op.fn}: one resource`);
        assert.match(counterResource['Fn::GetAtt'][0], /^ItemsTable/, `${op.fn}: the counter grant is on the items table ARN only`);
        assert.equal(counterResource['Fn::GetAtt'][1], 'Arn');
        assert.deepEqual([...asList(dynamo[0].Action)].sort(), op.actions, `${op.fn}: exact DynamoDB actions from x-dynamodb-actions`);
        const dynamoResources = asList(dynamo[0].Resource);
        assert.equal(dynamoResources.length, 1, `${op.fn}: one resource, the table ARN`);
        assert.deepEqual(Object.keys(dynamoResources[0]), ['Fn::GetAtt']);
        assert.equal(dynamoResources[0]['Fn::GetAtt'][1], 'Arn');
        assert.match(dynamoResources[0]['Fn::GetAtt'][0], /^ItemsTable/, `${op.fn}: on the items table ARN only`);
        const logsStatement = statements.filter((s) => asList(s.Action).some((a: string) => a.startsWith('logs:')));
        assert.deepEqual(logsStatement, [{ Action: ['logs:CreateLogStream', 'logs:PutLogEvents'], Effect: 'Allow', Resource: { 'Fn::GetAtt': [logGroupId, 'Arn'] } }], `${op.fn}: writes its own log group only`);
        for (const s of statements) {
          assert.equal(s.Effect, 'Allow');
          if (asList(s.Resource).includes('*')) {
            assert.deepEqual([...asList(s.Action)].sort(), ['xray:PutTelemetryRecords', 'xray:PutTraceSegments'], `${op.fn}: only X-Ray on "*"`);
          }
          for (const a of asList(s.Action) as string[]) assert.ok(!a.includes('*'), `${op.fn}: no wildcard action (${a})`);
        }
        const kms = statements.filter((s) => asList(s.Action).some((a: string) => a.startsWith('kms:')));
        if (config.tableEncryption === 'CUSTOMER_MANAGED') {
          assert.equal(kms.length, 1, `${op.fn}: KMS through DynamoDB only`);
          assert.deepEqual([...asList(kms[0].Action)].sort(), ['kms:Decrypt', 'kms:DescribeKey', 'kms:Encrypt', 'kms:GenerateDataKey'], `${op.fn}: every role writes its counter`);
          assert.deepEqual(kms[0].Condition, { StringEquals: { 'kms:ViaService': { 'Fn::Join': ['', ['dynamodb.', { Ref: 'AWS::Region' }, '.amazonaws.com']] } } });
        } else {
          assert.equal(kms.length, 0, `${op.fn}: no KMS permission with an AWS owned key`);
        }
        assert.equal(statements.length, 4 + kms.length, `${op.fn}: logs, DynamoDB, the limit counter, X-Ray${kms.length ? ', KMS' : ''} and nothing else`);
      }
    });

    it('declares the table from api/table.json: on-demand, PITR, TTL, protection and encryption by stage', () => {
      const retain = config.removalPolicy === 'RETAIN';
      template.hasResource('AWS::DynamoDB::Table', {
        DeletionPolicy: retain ? 'Retain' : 'Delete',
        Properties: Match.objectLike({
          BillingMode: 'PAY_PER_REQUEST',
          KeySchema: [
            { AttributeName: TABLE_SPEC.partitionKey, KeyType: 'HASH' },
            { AttributeName: TABLE_SPEC.sortKey, KeyType: 'RANGE' },
          ],
          AttributeDefinitions: [
            { AttributeName: TABLE_SPEC.partitionKey, AttributeType: 'S' },
            { AttributeName: TABLE_SPEC.sortKey, AttributeType: 'S' },
          ],
          TimeToLiveSpecification: { AttributeName: TABLE_SPEC.timeToLiveAttribute, Enabled: true },
          PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
          DeletionProtectionEnabled: retain,
          ...(config.tableEncryption === 'CUSTOMER_MANAGED'
            ? { SSESpecification: { SSEEnabled: true, SSEType: 'KMS', KMSMasterKeyId: Match.anyValue() } }
            : { SSESpecification: Match.objectEquals({ SSEEnabled: false }) }),
        }),
      });
    });

    it('puts the Cognito authorizer, a required API key and a validator on every contract method', () => {
      const methods = resources(stage, 'AWS::ApiGateway::Method').filter(([, m]) => m.Properties!.HttpMethod !== 'OPTIONS');
      assert.equal(methods.length, EXPECTED.length);
      template.hasResourceProperties('AWS::ApiGateway::Authorizer', {
        Type: 'COGNITO_USER_POOLS',
        IdentitySource: 'method.request.header.Authorization',
        ProviderARNs: [{ 'Fn::GetAtt': [Match.stringLikeRegexp('^IdentityUserPool'), 'Arn'] }],
      });
      const validators = Object.fromEntries(resources(stage, 'AWS::ApiGateway::RequestValidator').map(([id, v]) => [id, v.Properties!]));
      const models = Object.fromEntries(resources(stage, 'AWS::ApiGateway::Model').map(([id, m]) => [id, m.Properties!]));
      for (const op of CONTRACT.operations) {
        const hit = methods.filter(([, m]) => m.Properties!.OperationName === op.operationId);
        assert.equal(hit.length, 1, `${op.operationId} has one method`);
        const m = hit[0][1].Properties!;
        assert.equal(m.HttpMethod, op.method);
        assert.equal(m.AuthorizationType, 'COGNITO_USER_POOLS', `${op.operationId} authorizer type`);
        assert.match(m.AuthorizerId.Ref, /^ApiAuthorizer/, `${op.operationId} authorizer`);
        assert.equal(m.ApiKeyRequired, true, `${op.operationId} API key`);
        assert.equal(m.Integration.Type, 'AWS_PROXY');
        assert.ok(m.RequestValidatorId, `${op.operationId} has a validator`);
        const validator = validators[m.RequestValidatorId.Ref];
        assert.equal(validator.ValidateRequestParameters, true, `${op.operationId} validates parameters`);
        const expectedParams = Object.fromEntries(
          op.parameters.map((p) => [`method.request.${p.in === 'query' ? 'querystring' : p.in}.${p.name}`, p.required]),
        );
        assert.deepEqual(m.RequestParameters, expectedParams, `${op.operationId} request parameters`);
        if (op.body) {
          assert.equal(validator.ValidateRequestBody, true, `${op.operationId} validates its body`);
          const model = models[m.RequestModels['application/json'].Ref];
          assert.equal(model.Name, op.body.modelName);
          assert.equal(model.ContentType, 'application/json');
          assert.deepEqual(model.Schema, op.body.schema, `${op.operationId} model is the inlined contract schema`);
          assert.ok(!JSON.stringify(model.Schema).includes('$ref'), `${op.operationId} model has no $ref`);
        } else {
          assert.equal(m.RequestModels, undefined);
        }
      }
    });

    it('answers CORS preflight from the configured origins only', () => {
      const options = resources(stage, 'AWS::ApiGateway::Method').filter(([, m]) => m.Properties!.HttpMethod === 'OPTIONS');
      assert.equal(options.length, new Set(EXPECTED.map((e) => e.path)).size, 'one preflight per contract path');
      for (const [, o] of options) {
        const text = JSON.stringify(o.Properties!.Integration);
        for (const origin of config.corsAllowOrigins) assert.ok(text.includes(origin), `preflight allows ${origin}`);
        assert.ok(!text.includes("'*'"), 'no wildcard origin');
        for (const h of [...GATEWAY_RESPONSES.cors.allowHeaders, ...GATEWAY_RESPONSES.cors.exposeHeaders]) assert.ok(text.includes(h), `preflight names ${h}`);
        assert.ok(text.includes(`'${GATEWAY_RESPONSES.cors.maxAgeSeconds}'`), 'preflight max age');
      }
    });

    it('throttles the stage and the configured methods, logs JSON access logs, ERROR execution logs, no data trace, X-Ray', () => {
      const methodSettings: any[] = [
        Match.objectLike({ HttpMethod: '*', ResourcePath: '/*', ThrottlingRateLimit: config.throttle.rateLimit, ThrottlingBurstLimit: config.throttle.burstLimit, LoggingLevel: 'ERROR', DataTraceEnabled: false }),
      ];
      for (const [key, t] of Object.entries(config.methodThrottles)) {
        const [verb, p] = key.split(' ');
        methodSettings.push(Match.objectLike({ HttpMethod: verb, ResourcePath: `/${p.replace(/\//g, '~1')}`, ThrottlingRateLimit: t.rateLimit, ThrottlingBurstLimit: t.burstLimit, DataTraceEnabled: false }));
      }
      template.hasResourceProperties('AWS::ApiGateway::Stage', {
        StageName: stage,
        TracingEnabled: true,
        MethodSettings: Match.arrayWith(methodSettings),
        AccessLogSetting: { DestinationArn: Match.anyValue(), Format: Match.anyValue() },
      });
      const [, st] = resources(stage, 'AWS::ApiGateway::Stage')[0];
      const format = JSON.parse(st.Properties!.AccessLogSetting.Format);
      assert.equal(format.requestId, '$context.requestId');
      const logged = JSON.stringify(format);
      for (const secret of ['$context.identity.apiKey"', 'requestBody', '$input', 'Authorization', '$context.authorizer.claims.email']) {
        assert.ok(!logged.includes(secret), `access log does not carry ${secret}`);
      }
      template.hasResourceProperties('AWS::ApiGateway::RestApi', { EndpointConfiguration: { Types: ['REGIONAL'] } });
    });

    it('gives each configured client app its own API key and usage plan, the key in its own plan only', () => {
      const names = Object.keys(config.clients);
      assert.ok(names.length >= 2, `${stage} configures several client apps (${names.join(', ')})`);
      const keys = resources(stage, 'AWS::ApiGateway::ApiKey');
      const plans = resources(stage, 'AWS::ApiGateway::UsagePlan');
      const planKeys = resources(stage, 'AWS::ApiGateway::UsagePlanKey');
      assert.equal(keys.length, names.length, 'one key per client');
      assert.equal(plans.length, names.length, 'one usage plan per client');
      assert.equal(planKeys.length, names.length, 'each key in exactly one plan');
      const [[stageId]] = resources(stage, 'AWS::ApiGateway::Stage');
      const stackName = synthStage(stage).stack.stackName;
      for (const [name, plan] of Object.entries(config.clients)) {
        const keyHits = keys.filter(([, k]) => k.Properties!.Name === `${stackName}-${name}`);
        assert.equal(keyHits.length, 1, `${name}: one key named for the stack and the client`);
        const [keyId, key] = keyHits[0];
        assert.equal(key.Properties!.Enabled, true, `${name}: the key is enabled`);
        const planHits = plans.filter(([, p]) => p.Properties!.UsagePlanName === `${stackName}-${name}`);
        assert.equal(planHits.length, 1, `${name}: one plan named for the stack and the client`);
        const [planId, usagePlan] = planHits[0];
        assert.deepEqual(usagePlan.Properties!.Throttle, { RateLimit: plan.rateLimit, BurstLimit: plan.burstLimit }, `${name}: throttle as configured`);
        assert.deepEqual(usagePlan.Properties!.Quota, { Limit: plan.quotaLimit, Period: plan.quotaPeriod }, `${name}: quota as configured`);
        assert.deepEqual(usagePlan.Properties!.ApiStages.map((s: any) => s.Stage), [{ Ref: stageId }], `${name}: the plan is bound to the stage`);
        const bindings = planKeys.filter(([, b]) => b.Properties!.KeyId.Ref === keyId);
        assert.equal(bindings.length, 1, `${name}: its key is in one plan`);
        assert.deepEqual(bindings[0][1].Properties, { KeyId: { Ref: keyId }, KeyType: 'API_KEY', UsagePlanId: { Ref: planId } }, `${name}: and that plan is its own`);
      }
    });

    it('outputs ApiKeyIds: each client app\'s key id by name, in the stage\'s order', () => {
      const output = template.toJSON().Outputs.ApiKeyIds;
      // Rendered as CloudFormation would: each { Ref } replaced by "<logical id>".
      const rendered = JSON.stringify(output.Value).replace(/\{"Ref":"([A-Za-z0-9]+)"\}/g, '"$1"');
      const text = (JSON.parse(rendered)['Fn::Join'][1] as string[]).join('');
      const ids = JSON.parse(text) as Record<string, string>;
      assert.deepEqual(Object.keys(ids), Object.keys(config.clients), 'every client, first one first');
      const keys = Object.fromEntries(resources(stage, 'AWS::ApiGateway::ApiKey').map(([id, k]) => [k.Properties!.Name, id]));
      const stackName = synthStage(stage).stack.stackName;
      for (const name of Object.keys(config.clients)) assert.equal(ids[name], keys[`${stackName}-${name}`], `${name}: its own key's id`);
    });

    it('answers every gateway response of api/gateway-responses.json as problem+json with the request id', () => {
      const responses = resources(stage, 'AWS::ApiGateway::GatewayResponse');
      assert.equal(responses.length, GATEWAY_RESPONSES.responses.length);
      for (const spec of GATEWAY_RESPONSES.responses) {
        const hit = responses.filter(([, r]) => r.Properties!.ResponseType === spec.responseType);
        assert.equal(hit.length, 1, spec.responseType);
        const r = hit[0][1].Properties!;
        assert.equal(r.StatusCode, spec.statusCode === null ? undefined : String(spec.statusCode), `${spec.responseType} status`);
        assert.deepEqual(r.ResponseParameters, {
          'gatewayresponse.header.Content-Type': `'${GATEWAY_RESPONSES.contentType}'`,
          ...(spec.retryAfter !== undefined ? { 'gatewayresponse.header.Retry-After': `'${spec.retryAfter}'` } : {}),
          // CORS on every gateway answer: one allowed origin by name, several by echoing the request's.
          'gatewayresponse.header.Access-Control-Allow-Origin':
            config.corsAllowOrigins.length === 1 ? `'${config.corsAllowOrigins[0]}'` : 'method.request.header.Origin',
          'gatewayresponse.header.Access-Control-Expose-Headers': `'${GATEWAY_RESPONSES.cors.exposeHeaders.join(',')}'`,
          'gatewayresponse.header.Vary': "'Origin'",
        }, `${spec.responseType} headers`);
        const body: string = r.ResponseTemplates['application/json'];
        assert.ok(body.includes('"requestId":"$context.requestId"'), `${spec.responseType} carries the request id`);
        assert.ok(body.includes(`"type":"${GATEWAY_RESPONSES.typePrefix}${spec.problem}"`), `${spec.responseType} type`);
        if (spec.detail !== null) assert.ok(body.includes(`"detail":${spec.detail}`), `${spec.responseType} detail`);
        // With every $context variable replaced by a JSON string, the body must be valid JSON.
        const sample = JSON.parse(body.replace(/"\$context\.[A-Za-z.]+"/g, '"x"').replace(/\$context\.[A-Za-z.]+/g, '"x"'));
        assert.equal(sample.status, spec.statusCode ?? undefined);
      }
      // Throttled and over-quota clients are told when to come back: a static number of seconds.
      const retryAfter = (type: string) =>
        responses.find(([, r]) => r.Properties!.ResponseType === type)![1].Properties!.ResponseParameters['gatewayresponse.header.Retry-After'];
      assert.equal(retryAfter('THROTTLED'), "'1'", 'THROTTLED Retry-After');
      assert.equal(retryAfter('QUOTA_EXCEEDED'), "'3600'", 'QUOTA_EXCEEDED Retry-After');
      const badBody = responses.find(([, r]) => r.Properties!.ResponseType === 'BAD_REQUEST_BODY');
      assert.ok(badBody![1].Properties!.ResponseTemplates['application/json'].includes('$context.error.validationErrorString'), 'the validation error reaches the client');
    });

    it('sets a retention on every log group', () => {
      const groups = resources(stage, 'AWS::Logs::LogGroup');
      assert.ok(groups.length >= EXPECTED.length + 3, 'functions, access, execution and WAF log groups');
      for (const [id, g] of groups) assert.equal(g.Properties!.RetentionInDays, config.logRetentionDays, `${id} retention`);
    });

    it('protects the stage with a WAF web ACL: managed rules and a per-user rate limit on the Authorization header', () => {
      template.hasResourceProperties('AWS::WAFv2::WebACL', {
        Scope: 'REGIONAL',
        DefaultAction: { Allow: {} },
        Rules: Match.arrayWith([
          // Valid bodies can exceed the rule group's 8 KB body limit, and valid item text can look
          // like markup, paths or URLs: the group's body rules only count (go-live.test.ts).
          Match.objectLike({
            Statement: {
              ManagedRuleGroupStatement: {
                VendorName: 'AWS',
                Name: 'AWSManagedRulesCommonRuleSet',
                RuleActionOverrides: ['SizeRestrictions_BODY', 'CrossSiteScripting_BODY', 'GenericLFI_BODY', 'GenericRFI_BODY', 'EC2MetaDataSSRF_BODY'].map((Name) => ({ Name, ActionToUse: { Count: {} } })),
              },
            },
          }),
          Match.objectLike({ Statement: { ManagedRuleGroupStatement: { VendorName: 'AWS', Name: 'AWSManagedRulesKnownBadInputsRuleSet' } } }),
          Match.objectLike({
            Action: { Block: {} },
            Statement: {
              RateBasedStatement: Match.objectLike({
                Limit: config.wafRateLimitPer5Min,
                AggregateKeyType: 'CUSTOM_KEYS',
                CustomKeys: [{ Header: { Name: 'authorization', TextTransformations: [{ Priority: 0, Type: 'NONE' }] } }],
              }),
            },
          }),
        ]),
      });
      template.hasResourceProperties('AWS::WAFv2::WebACLAssociation', {
        ResourceArn: Match.objectLike({ 'Fn::Join': ['', Match.arrayWith([Match.objectLike({ Ref: Match.stringLikeRegexp('^ApiRestApi') }), Match.objectLike({ Ref: Match.stringLikeRegexp('^ApiRestApiDeploymentStage') })])] }),
      });
      template.hasResourceProperties('AWS::WAFv2::LoggingConfiguration', {
        RedactedFields: [{ SingleHeader: { Name: 'authorization' } }, { SingleHeader: { Name: 'x-api-key' } }],
      });
    });

    it('has a Cognito user pool with a strong password policy, MFA and threat protection from the stage', () => {
      template.hasResourceProperties('AWS::Cognito::UserPool', {
        Policies: { PasswordPolicy: Match.objectLike({ MinimumLength: 14, RequireLowercase: true, RequireUppercase: true, RequireNumbers: true, RequireSymbols: true }) },
        MfaConfiguration: config.mfa === 'REQUIRED' ? 'ON' : config.mfa,
        UserPoolTier: config.threatProtection === 'OFF' ? 'ESSENTIALS' : 'PLUS',
        AdminCreateUserConfig: { AllowAdminCreateUserOnly: true },
      });
      template.hasResourceProperties('AWS::Cognito::UserPoolClient', { GenerateSecret: false, PreventUserExistenceErrors: 'ENABLED' });
    });

    it('wires every alarm to the encrypted SNS topic and covers API, functions and table', () => {
      const alarms = resources(stage, 'AWS::CloudWatch::Alarm');
      assert.equal(alarms.length, 2 + 2 * EXPECTED.length + 2, 'API 5XX and p99, errors and throttles per function, table throttles and system errors');
      for (const [id, a] of alarms) {
        assert.equal(a.Properties!.AlarmActions.length, 1, `${id} has one action`);
        assert.match(a.Properties!.AlarmActions[0].Ref, /^MonitoringAlarmTopic/, `${id} notifies the alarm topic`);
      }
      const metrics = alarms.map(([, a]) => a.Properties!.MetricName ?? 'expression');
      for (const m of ['5XXError', 'Latency', 'Errors', 'Throttles']) assert.ok(metrics.includes(m), `an alarm on ${m}`);
      template.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: Match.anyValue() });
      template.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
      template.hasResourceProperties('AWS::Budgets::Budget', {
        Budget: { BudgetType: 'COST', TimeUnit: 'MONTHLY', BudgetLimit: { Amount: config.budgetUsd, Unit: 'USD' } },
      });
    });

    it('outputs the API URL, table name, user pool, client and API key ids', () => {
      for (const name of ['ApiUrl', 'TableName', 'UserPoolId', 'UserPoolClientId', 'ApiKeyIds']) template.hasOutput(name, {});
    });

    it('gives every checkov skip a reason', () => {
      for (const [id, r] of Object.entries(template.toJSON().Resources as Record<string, Resource>)) {
        for (const skip of r.Metadata?.checkov?.skip ?? []) {
          assert.match(skip.id, /^CKV2?_AWS_\d+$/, `${id} skip id`);
          assert.ok(skip.comment.length >= 40, `${id} ${skip.id} has a reason`);
        }
      }
    });
  });
}

describe('stage differences', () => {
  it('keeps data and protects it outside dev, and lets dev be torn down', () => {
    for (const stage of ['staging', 'prod']) {
      synthStage(stage).template.hasResource('AWS::DynamoDB::Table', { DeletionPolicy: 'Retain', Properties: Match.objectLike({ DeletionProtectionEnabled: true }) });
      synthStage(stage).template.hasResourceProperties('AWS::Cognito::UserPool', { DeletionProtection: 'ACTIVE', MfaConfiguration: 'ON' });
    }
    synthStage('dev').template.hasResource('AWS::DynamoDB::Table', { DeletionPolicy: 'Delete', Properties: Match.objectLike({ DeletionProtectionEnabled: false }) });
  });

  it('names each stage its own stack', () => {
    assert.equal(synthStage('dev').stack.stackName, 'SecureServerlessBackend-dev');
    assert.equal(synthStage('prod').stack.stackName, 'SecureServerlessBackend-prod');
  });

  it('deploys x86_64 functions from x86_64 artifacts when asked', () => {
    const { template } = synthStage('dev', 'x86_64');
    for (const [, fn] of Object.entries(template.findResources('AWS::Lambda::Function'))) {
      assert.deepEqual((fn as Resource).Properties!.Architectures, ['x86_64']);
    }
  });
});
