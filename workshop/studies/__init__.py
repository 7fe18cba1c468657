"""What the project adds to the homework: inside the network (diagnose), word vectors that learn
(beyond), a kept model on your own reviews (predict), the written answers' figures (answers)."""
