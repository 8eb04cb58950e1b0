// The original glue, as teams write it: an EventBridge rule on ECR events invokes this Node.js 20 Lambda; two
// regexes find the cluster and the service in the repository ARN (group 1 of each), and one UpdateService call
// forces a new deployment of whatever the service's task definition names. Errors are logged and swallowed.
// Region and endpoint come from the environment (AWS_REGION, AWS_ENDPOINT_URL), as for every AWS SDK.
import { ECSClient, UpdateServiceCommand } from "@aws-sdk/client-ecs";

const ecs = new ECSClient({});
const clusterRegex = new RegExp(process.env.ECR_CLUSTER_REGEX);
const serviceRegex = new RegExp(process.env.ECR_SERVICE_REGEX);

export const handler = async (event) => {
  const arn = event.resources?.[0] ?? event.detail?.resources?.[0]?.ARN ?? "";
  const cluster = clusterRegex.exec(arn)?.[1];
  const service = serviceRegex.exec(arn)?.[1];
  if (!cluster || !service) {
    console.log(`no cluster or service for ${arn}`);
    return { cluster, service, deployed: false };
  }
  try {
    await ecs.send(new UpdateServiceCommand({ cluster, service, forceNewDeployment: true }));
    return { cluster, service, deployed: true };
  } catch (err) {
    console.error(`UpdateService ${cluster}/${service} failed: ${err}`);
    return { cluster, service, deployed: false };
  }
};
