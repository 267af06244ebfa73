variable "region" {
  description = "Region of the bucket and the load balancer (CloudFront is global)."
  type        = string
  default     = "eu-west-1"
}

variable "bucket_name" {
  description = "The private media bucket (S3_BUCKET)."
  type        = string
}

variable "cloudfront_public_key_path" {
  description = "url-signer's public key (public_key.pem from `url-signer keygen`)."
  type        = string
}

variable "initial_key_managed" {
  description = "Whether Terraform owns url-signer's first public key: true until `url-signer keys rotate` retires it (then see cloudfront.tf)."
  type        = bool
  default     = true
}

variable "photos_domain_aliases" {
  description = "Optional custom domains for photos (needs photos_certificate_arn, in us-east-1)."
  type        = list(string)
  default     = []
}

variable "photos_certificate_arn" {
  description = "ACM certificate (us-east-1) for photos_domain_aliases; empty uses *.cloudfront.net."
  type        = string
  default     = ""
}

variable "vpc_id" {
  description = "VPC of the services."
  type        = string
}

variable "public_subnet_ids" {
  description = "Subnets of the public load balancer."
  type        = list(string)
}

variable "api_certificate_arn" {
  description = "ACM certificate for the API's HTTPS listener."
  type        = string
}
