//! The role an aws cloud's instances run as (`cloud.NAME.instance_role`): an IAM role and
//! instance profile named for the stack and cloud under the path `/gaform/STACK/`, allowed
//! exactly what the head and workers do: read and write the stack's artifacts on S3, and
//! terminate the stack's own instances. Credentials reach instances through the profile;
//! none are written in user data, plans or logs.

use super::sdk_error as iam_error;
use super::AwsProvider;
use crate::CloudError;
use aws_sdk_iam::types::Tag;
use gaform_compiler::plan::{Action, Addr, Change, Kind, Observed, ObservedResource};

/// The trust policy: EC2 instances may take the role.
const TRUST: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
const POLICY_NAME: &str = "gaform-stack-access";

impl AwsProvider {
    /// The role's (and instance profile's) name.
    pub(super) fn role_name(&self) -> String {
        format!("gaform-{}-{}", self.stack, self.cloud).chars().take(64).collect()
    }

    fn role_path(&self) -> String {
        format!("/gaform/{}/", self.stack)
    }

    /// What the stack's instances may do; `topics`: the SNS topics its heads notify. A head
    /// replaces lost workers, so it may start instances from the stack's launch templates
    /// (with its role) only when it tags them with the stack, and tag only what it creates.
    async fn policy(&self, topics: Option<&String>) -> Result<String, CloudError> {
        let bucket = self.bucket().await?;
        let prefix = format!("stacks/{}/{}/", self.stack, self.cloud);
        let publish = match topics {
            Some(t) => {
                let arns: Vec<String> = t.split(", ").map(|a| format!("\"{a}\"")).collect();
                format!(
                    ",\n{{\"Effect\":\"Allow\",\"Action\":\"sns:Publish\",\"Resource\":[{}]}}",
                    arns.join(",")
                )
            }
            None => String::new(),
        };
        Ok(format!(
            r#"{{"Version":"2012-10-17","Statement":[
{{"Effect":"Allow","Action":["s3:GetObject","s3:PutObject","s3:DeleteObject"],"Resource":"arn:aws:s3:::{bucket}/{prefix}*"}},
{{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::{bucket}","Condition":{{"StringLike":{{"s3:prefix":"{prefix}*"}}}}}},
{{"Effect":"Allow","Action":["ec2:DescribeInstances","ec2:DescribeSpotPriceHistory"],"Resource":"*"}},
{{"Effect":"Allow","Action":"ec2:TerminateInstances","Resource":"*","Condition":{{"StringEquals":{{"aws:ResourceTag/gaform:stack":"{stack}"}}}}}},
{{"Effect":"Allow","Action":"ec2:DescribeLaunchTemplates","Resource":"*"}},
{{"Effect":"Allow","Action":["ec2:CreateFleet","ec2:RunInstances"],"Resource":["arn:aws:ec2:*:*:fleet/*","arn:aws:ec2:*:*:instance/*"],"Condition":{{"StringEquals":{{"aws:RequestTag/gaform:stack":"{stack}"}}}}}},
{{"Effect":"Allow","Action":"ec2:RunInstances","Resource":"arn:aws:ec2:*:*:launch-template/*","Condition":{{"StringEquals":{{"aws:ResourceTag/gaform:stack":"{stack}"}}}}}},
{{"Effect":"Allow","Action":"ec2:RunInstances","Resource":["arn:aws:ec2:*::image/*","arn:aws:ec2:*:*:subnet/*","arn:aws:ec2:*:*:network-interface/*","arn:aws:ec2:*:*:security-group/*","arn:aws:ec2:*:*:volume/*"]}},
{{"Effect":"Allow","Action":"ec2:CreateTags","Resource":"*","Condition":{{"StringEquals":{{"ec2:CreateAction":["CreateFleet","RunInstances"]}}}}}},
{{"Effect":"Allow","Action":"iam:PassRole","Resource":"arn:aws:iam::*:role{path}{name}","Condition":{{"StringEquals":{{"iam:PassedToService":"ec2.amazonaws.com"}}}}}}{publish}]}}"#,
            stack = self.stack,
            path = self.role_path(),
            name = self.role_name(),
        ))
    }

    pub(super) async fn role(&self, change: &Change) -> Result<String, CloudError> {
        let name = self.role_name();
        let exists = self.iam.get_role().role_name(&name).send().await.is_ok();
        if matches!(change.action, Action::Delete | Action::Replace) && exists {
            self.delete_role(&name).await?;
            if change.action == Action::Delete {
                return Ok(format!("deleted role and instance profile {name}"));
            }
        }
        let tags: Vec<Tag> = self
            .tags_of_role(change)
            .into_iter()
            .filter_map(|(k, v)| Tag::builder().key(k).value(v).build().ok())
            .collect();
        if !exists || change.action == Action::Replace {
            self.iam
                .create_role()
                .role_name(&name)
                .path(self.role_path())
                .assume_role_policy_document(TRUST)
                .set_tags(Some(tags.clone()))
                .send()
                .await
                .map_err(|e| iam_error(e).context(format!("cannot create role {name}")))?;
            self.iam
                .create_instance_profile()
                .instance_profile_name(&name)
                .path(self.role_path())
                .send()
                .await
                .map_err(|e| iam_error(e).context(format!("cannot create instance profile {name}")))?;
            self.iam
                .add_role_to_instance_profile()
                .instance_profile_name(&name)
                .role_name(&name)
                .send()
                .await
                .map_err(|e| iam_error(e).context(format!("cannot put role {name} in its profile")))?;
        } else {
            self.iam.tag_role().role_name(&name).set_tags(Some(tags)).send().await.map_err(iam_error)?;
        }
        self.iam
            .put_role_policy()
            .role_name(&name)
            .policy_name(POLICY_NAME)
            .policy_document(self.policy(change.after.as_ref().and_then(|a| a.get("publishes_to"))).await?)
            .send()
            .await
            .map_err(|e| iam_error(e).context(format!("cannot set role {name}'s policy")))?;
        Ok(format!("role and instance profile {name}"))
    }

    fn tags_of_role(&self, change: &Change) -> Vec<(String, String)> {
        self.tags_of(change)
            .into_iter()
            .filter_map(|t| Some((t.key()?.to_string(), t.value()?.to_string())))
            .collect()
    }

    async fn delete_role(&self, name: &str) -> Result<(), CloudError> {
        // Each step may have been done by an earlier, interrupted delete.
        let _ = self
            .iam
            .remove_role_from_instance_profile()
            .instance_profile_name(name)
            .role_name(name)
            .send()
            .await;
        let _ = self.iam.delete_instance_profile().instance_profile_name(name).send().await;
        let _ = self.iam.delete_role_policy().role_name(name).policy_name(POLICY_NAME).send().await;
        self.iam
            .delete_role()
            .role_name(name)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| iam_error(e).context(format!("cannot delete role {name}")))
    }

    /// The stack's role, if it exists: one ListRoles under the stack's path.
    pub(super) async fn observe_role(&self, observed: &mut Observed) -> Result<(), CloudError> {
        let out = self
            .iam
            .list_roles()
            .path_prefix(self.role_path())
            .send()
            .await
            .map_err(|e| iam_error(e).context("cannot list the stack's roles"))?;
        if !out.roles().iter().any(|r| r.role_name() == self.role_name()) {
            return Ok(());
        }
        let role = self.iam.get_role().role_name(self.role_name()).send().await.map_err(iam_error)?;
        let tags: Vec<aws_sdk_ec2::types::Tag> = role
            .role()
            .map(|r| r.tags())
            .unwrap_or_default()
            .iter()
            .map(|t| super::tags::tag(t.key(), t.value()))
            .collect();
        let address = Addr::instance_role(&self.cloud);
        observed.resources.insert(
            address,
            ObservedResource {
                kind: Kind::Role,
                provider: "aws".into(),
                cloud: self.cloud.clone(),
                attributes: super::tags::attributes(&tags),
                instances: vec![],
                job: None,
                depends_on: super::tags::needs(&tags),
                frozen: None,
                mix: None,
            },
        );
        Ok(())
    }
}
