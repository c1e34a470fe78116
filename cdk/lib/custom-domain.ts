import * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as route53 from 'aws-cdk-lib/aws-route53';
import * as targets from 'aws-cdk-lib/aws-route53-targets';
import { Construct } from 'constructs';
import { cfnOf } from './compliance';
import { DomainSettings } from './config';

/** The strongest policy API Gateway offers a regional REST custom domain: TLS 1.3 only. */
export const DOMAIN_SECURITY_POLICY = apigw.SecurityPolicy.TLS13_1_3_2025_09;

/**
 * Route 53 failover routing: the record set's role and, for the primary, the health check that
 * decides whether Route 53 answers with it.
 */
export interface FailoverRouting {
  readonly role: route53.Failover;
  /** PRIMARY only: Route 53 answers with the primary while this health check is healthy. */
  readonly healthCheck?: route53.IHealthCheck;
  /** Unique among the record sets of the name: Route 53 tells failover records apart by it. */
  readonly setIdentifier: string;
}

export interface CustomDomainProps {
  readonly domain: DomainSettings;
  /** The API whose stage the domain serves. */
  readonly api: apigw.RestApi;
  readonly stage: apigw.Stage;
  /**
   * Failover routing for multi-region stages.
   * @default - simple routing: one A and one AAAA alias record
   */
  readonly failover?: FailoverRouting;
}

/**
 * A regional custom domain for the API: a DNS-validated ACM certificate in the API's region, an
 * API Gateway domain with the TLS 1.3-only policy and strict endpoint access, a base path mapping
 * of the whole stage at the root (clients call https://<domain>/v1/items, no stage in the path),
 * dual-stack, and Route 53 alias A and AAAA records in the existing hosted zone.
 *
 * The stack turns the API's execute-api endpoint off when it has a domain (ItemsApi
 * disableExecuteApiEndpoint), so the domain, with its WAF-protected stage, is the only way in.
 */
export class CustomDomain extends Construct {
  public readonly certificate: acm.Certificate;
  public readonly domainName: apigw.DomainName;
  public readonly records: readonly route53.RecordSet[];
  /** https://<domain>/ : the URL clients and the smoke test use (the API is under /v1). */
  public readonly url: string;

  constructor(scope: Construct, id: string, props: CustomDomainProps) {
    super(scope, id);
    const d = props.domain;
    // By id: no lookup at synth, so the app synthesizes offline and without credentials.
    const zone = route53.HostedZone.fromHostedZoneAttributes(this, 'Zone', { hostedZoneId: d.hostedZoneId, zoneName: d.hostedZoneName });

    this.certificate = new acm.Certificate(this, 'Certificate', {
      domainName: d.name,
      validation: acm.CertificateValidation.fromDns(zone),
    });

    this.domainName = new apigw.DomainName(this, 'DomainName', {
      domainName: d.name,
      certificate: this.certificate,
      endpointType: apigw.EndpointType.REGIONAL,
      securityPolicy: DOMAIN_SECURITY_POLICY,
      // STRICT: requests must come through a regional endpoint with SNI matching the domain.
      endpointAccessMode: apigw.EndpointAccessMode.STRICT,
    });
    // Dual-stack, so the AAAA record below has an IPv6 address to point at. A domain's IP address
    // type is independent of the API's (API Gateway docs, "IP address types for custom domain names").
    cfnOf(this.domainName).addPropertyOverride('EndpointConfiguration.IpAddressType', 'dualstack');

    // No basePath: the stage is mapped at the root, so its /v1/... resources are the URL's path.
    new apigw.BasePathMapping(this, 'Mapping', { domainName: this.domainName, restApi: props.api, stage: props.stage, attachToStage: false });

    // Failover alias records must evaluate their target's health (Route 53 refuses them
    // otherwise); for an API Gateway domain that is API Gateway's own view of its endpoint.
    const target = route53.RecordTarget.fromAlias(
      props.failover
        ? {
            bind: (): route53.AliasRecordTargetConfig => ({
              dnsName: this.domainName.domainNameAliasDomainName,
              hostedZoneId: this.domainName.domainNameAliasHostedZoneId,
              evaluateTargetHealth: true,
            }),
          }
        : new targets.ApiGatewayDomain(this.domainName),
    );
    // Failover: the secondary has no health check of its own, so Route 53 answers with it
    // whenever the primary's health check is unhealthy (docs/AVAILABILITY.md).
    const routing: Partial<route53.RecordSetOptions> = props.failover
      ? {
          failover: props.failover.role,
          setIdentifier: props.failover.setIdentifier,
          ...(props.failover.healthCheck ? { healthCheck: props.failover.healthCheck } : {}),
        }
      : {};
    const a = new route53.ARecord(this, 'A', { zone, recordName: d.name, target, ...routing });
    const aaaa = new route53.AaaaRecord(this, 'AAAA', { zone, recordName: d.name, target, ...routing });
    this.records = [a, aaaa];
    this.url = `https://${d.name}/`;
  }
}
