"""ecr-autodeploy: deploy to Amazon ECS the moment an image lands in Amazon ECR."""

__version__ = "0.1.0"
